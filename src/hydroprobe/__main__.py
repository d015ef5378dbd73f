import sys

from hydroprobe.cli.main import main

sys.exit(main())
