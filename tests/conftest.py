from lab_fixtures import *  # noqa
from site_fixtures import *  # noqa
