from seqvault_client.cli import main

raise SystemExit(main())
