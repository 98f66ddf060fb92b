from fork_lint.cli import main

raise SystemExit(main())
