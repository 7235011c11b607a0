"""softent's Python package: pure Python over the C library (ctypes).

    make && pip install --no-build-isolation ./python

copies the library built beside it (../build/libsoftent.so.0, or the one in
$SOFTENT_BUILD) into the package, so that the installed package needs no
library path; without one it uses the system's (make install).  Nothing is
downloaded and nothing is compiled here.
"""
import glob
import os
import shutil

from setuptools import setup

here = os.path.dirname(os.path.abspath(__file__))
build = os.environ.get("SOFTENT_BUILD", os.path.join(here, "..", "build"))
found = sorted(glob.glob(os.path.join(build, "libsoftent.so.0.*")))
package_data = []
if found:
    shutil.copyfile(found[-1], os.path.join(here, "softent", "libsoftent.so.0"))
    package_data = ["libsoftent.so.0"]

setup(
    name="softent",
    version="0.1.0",
    description="Soft-entropy estimates of what neural representations remember and forget",
    packages=["softent"],
    package_data={"softent": package_data},
    python_requires=">=3.9",
    install_requires=["numpy"],
)
