from setuptools import find_namespace_packages, setup

PLUGIN_NAME = "backfill"
microlib_name = f"flytekitplugins-{PLUGIN_NAME}"

plugin_requires = [
    "flytekit>=1.16.0,<2.0.0",
]
# The schedules are read by our own robfig/cron port (core/cron_fields.py); croniter is only the benchmark's baseline.
bench_requires = ["croniter>=1.4.0"]

test_requires = [
    "pytest>=7",
    "pytest-mock>=3",
    "hypothesis>=6",
    "pytest-timeout>=2",
    "pytest-xdist>=3",  # make test runs the suite in two processes
    "pillow>=9",  # tests/test_html_report.py reads the browser's screenshot of the report
]

__version__ = "0.1.0"

setup(
    name=microlib_name,
    version=__version__,
    author="flytekitplugins-backfill developers",
    description="Backfills for scheduled Flyte launch plans: exactly the runs the scheduler would have made",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    # flytekitplugins is an implicit namespace package (no __init__.py), shared with every flytekitplugins-* package
    packages=find_namespace_packages(include=[f"flytekitplugins.{PLUGIN_NAME}", f"flytekitplugins.{PLUGIN_NAME}.*"]),
    install_requires=plugin_requires,
    extras_require={"test": test_requires, "bench": bench_requires},
    entry_points={"flytekit.plugins": [f"{PLUGIN_NAME}=flytekitplugins.{PLUGIN_NAME}"]},
    license_expression="Apache-2.0",
    python_requires=">=3.9,<3.13",  # as flytekit's own plugins declare: flytekit 1.16 does not install on 3.13
    classifiers=[
        "Intended Audience :: Developers",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Software Development :: Libraries :: Python Modules",
    ],
)
