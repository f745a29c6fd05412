from . import test_suite_install
from . import test_demo_data
from . import test_sample_files
from . import test_tours
