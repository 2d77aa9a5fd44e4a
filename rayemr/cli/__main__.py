import sys

from rayemr.cli import main

sys.exit(main())
