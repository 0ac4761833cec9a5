"""`python -m faasplane.components.render`: the offline render's command line."""

import sys

from faasplane.components.render import main

sys.exit(main())
