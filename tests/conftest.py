from lab_fixtures import *  # noqa
