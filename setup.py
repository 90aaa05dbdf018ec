from setuptools import setup

PLUGIN_NAME = "backfill"
microlib_name = f"flytekitplugins-{PLUGIN_NAME}"

plugin_requires = [
    # 1.16 is the first release whose ArrayNode over a launch plan leaves fixed inputs unmapped.
    "flytekit>=1.16.0,<2.0.0",
    "croniter>=1.4.0",
]

test_requires = [
    "pytest>=7",
    "pytest-mock>=3",
    "hypothesis>=6",
    "pytest-timeout>=2",
]

__version__ = "0.1.0"

setup(
    name=microlib_name,
    version=__version__,
    author="flytekitplugins-backfill developers",
    description="Backfills for scheduled Flyte launch plans: exactly the runs the scheduler would have made",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    namespace_packages=["flytekitplugins"],
    packages=[f"flytekitplugins.{PLUGIN_NAME}"],
    install_requires=plugin_requires,
    extras_require={"test": test_requires},
    entry_points={"flytekit.plugins": [f"{PLUGIN_NAME}=flytekitplugins.{PLUGIN_NAME}"]},
    license="apache2",
    python_requires=">=3.9",
    classifiers=[
        "Intended Audience :: Developers",
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
        "Topic :: Software Development :: Libraries :: Python Modules",
    ],
)
