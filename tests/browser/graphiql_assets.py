"""GraphiQL's page loads React and GraphiQL from unpkg.com, which this sandbox (and CI) cannot reach.

The browser test serves those exact files from the same npm packages instead, fetched once with
`npm pack` from the npm registry into test-artifacts/npm (gitignored). The page's subresource
integrity hashes still apply, so a file that differed from unpkg's would fail to load.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tests.browser.conftest import ARTIFACTS

NPM_DIR = ARTIFACTS / "npm"
# `npm pack` of five small packages takes a couple of seconds; a minute covers a slow registry.
NPM_TIMEOUT_S = 60
UNPKG_URL = re.compile(r"https://unpkg\.com/((?:@[^/@\"]+/)?[^/@\"]+)@([^/\"]+)/([^\"]+)")
CONTENT_TYPES = {".js": "application/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Asset:
    url: str
    path: Path

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.path.suffix, "application/octet-stream")


def unpkg_urls(html: str) -> list[tuple[str, str, str, str]]:
    """(url, package, version, file path) of every unpkg.com asset the page names."""
    return [(m.group(0), m.group(1), m.group(2), m.group(3)) for m in UNPKG_URL.finditer(html)]


def _unpacked(package: str, version: str) -> Path:
    target = NPM_DIR / f"{package.replace('/', '__')}@{version}"
    if (target / "package").is_dir():
        return target / "package"
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed (apt-get install -y npm)")
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "pack", f"{package}@{version}", "--silent", "--pack-destination", str(target)],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_S,
        check=False,
    )
    tarballs = list(target.glob("*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        raise FileNotFoundError(f"npm pack {package}@{version} failed: {result.stderr.strip()[-300:]}")
    with tarfile.open(tarballs[0]) as archive:
        archive.extractall(target, filter="data")
    tarballs[0].unlink()
    return target / "package"


def mirror(html: str) -> dict[str, Asset]:
    """Every unpkg.com URL of the page mapped to the same file of the npm package."""
    assets = {}
    for url, package, version, file_path in unpkg_urls(html):
        path = _unpacked(package, version) / file_path
        if not path.is_file():
            raise FileNotFoundError(f"{package}@{version} has no {file_path}")
        assets[url] = Asset(url, path)
    return assets
