"""cvdata.fetch against a loopback HTTP server: resume, errors, safe unzip, layouts.

Offline and fast: the server runs in a thread on 127.0.0.1 and serves bytes
built in the test; nothing leaves the machine.
"""
from __future__ import annotations

import io
import re
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cvdata.errors import FetchError
from cvdata.fetch import download, extract, fetch_coco, fetch_udacity_faces


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range`` unless ``server.ignore_range``;
    sends only ``server.drop_after`` body bytes once, then closes the connection."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        srv = self.server
        rng = self.headers.get("Range")
        srv.requests.append({"path": self.path, "range": rng})
        data = srv.files.get(self.path.lstrip("/"))
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if rng and not srv.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.drop_after is not None:
            body, srv.drop_after = body[:srv.drop_after], None
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.requests, srv.drop_after, srv.ignore_range = {}, [], None, False
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


PAYLOAD = bytes(range(256)) * 4000  # ~1 MB, not a multiple of the chunk size


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_full_download(server, tmp_path):
    server.files["a.bin"] = PAYLOAD
    dest = download(f"{server.url}/a.bin", tmp_path / "a.bin", chunk_size=4096,
                    progress=True)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "a.bin.part").exists()
    download(f"{server.url}/a.bin", dest, progress=False)  # exists: no request
    assert len(server.requests) == 1


def test_interrupted_download_resumes(server, tmp_path):
    server.files["a.bin"] = PAYLOAD
    server.drop_after = 300_000
    dest = tmp_path / "a.bin"
    with pytest.raises(FetchError, match="resume") as err:
        download(f"{server.url}/a.bin", dest, progress=False)
    assert "\n" not in str(err.value)
    part = tmp_path / "a.bin.part"
    assert part.stat().st_size == 300_000 and not dest.exists()

    download(f"{server.url}/a.bin", dest, progress=False)
    assert server.requests[-1]["range"] == "bytes=300000-"
    assert dest.read_bytes() == PAYLOAD and not part.exists()


def test_server_ignoring_range_restarts(server, tmp_path):
    server.files["a.bin"] = PAYLOAD
    server.ignore_range = True
    (tmp_path / "a.bin.part").write_bytes(b"garbage that must not survive")
    dest = download(f"{server.url}/a.bin", tmp_path / "a.bin", progress=False)
    assert server.requests[-1]["range"] is not None
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_gets_416_and_is_kept(server, tmp_path):
    server.files["a.bin"] = PAYLOAD
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD)
    dest = download(f"{server.url}/a.bin", tmp_path / "a.bin", progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_http_404(server, tmp_path):
    with pytest.raises(FetchError, match="404") as err:
        download(f"{server.url}/missing.zip", tmp_path / "m.zip", progress=False)
    assert f"{server.url}/missing.zip" in str(err.value)
    assert "\n" not in str(err.value)


def test_unreachable_host_is_one_line_offline_message(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as err:
        download(f"http://127.0.0.1:{port}/x.zip", tmp_path / "x.zip", timeout=5,
                 progress=False)
    message = str(err.value)
    assert "offline" in message and "127.0.0.1" in message and "\n" not in message


def _faces_zip(top: str) -> bytes:
    header = "," + ",".join(str(i) for i in range(136)) + "\n"
    row = lambda name: name + "," + ",".join("1.5" for _ in range(136)) + "\n"  # noqa: E731
    train_csv = header + row("a_00.jpg") + row("b_01.jpg")
    return _zip({
        f"{top}training_frames_keypoints.csv": train_csv.encode(),
        f"{top}test_frames_keypoints.csv": (header + row("c_00.jpg")).encode(),
        f"{top}training/a_00.jpg": b"jpeg-a",
        f"{top}training/b_01.jpg": b"jpeg-b",
        f"{top}test/c_00.jpg": b"jpeg-c",
        f"__MACOSX/{top}._training_frames_keypoints.csv": b"resource fork",
    })


@pytest.mark.parametrize("top", ["", "train-test-data/"])
def test_fetch_udacity_faces_layout(server, tmp_path, top):
    server.files["train-test-data.zip"] = _faces_zip(top)
    out = fetch_udacity_faces(tmp_path, base_url=server.url, keep_archives=False,
                              progress=False)
    assert out == tmp_path / "facial_keypoints"
    assert (out / "training_frames_keypoints.csv").read_text().startswith(",0,1,2,")
    assert (out / "test_frames_keypoints.csv").is_file()
    assert sorted(p.name for p in (out / "training").iterdir()) == ["a_00.jpg", "b_01.jpg"]
    assert (out / "test" / "c_00.jpg").read_bytes() == b"jpeg-c"
    assert not (out / "__MACOSX").exists() and not (out / "train-test-data").exists()
    assert not (tmp_path / "downloads" / "train-test-data.zip").exists()

    n = len(server.requests)
    fetch_udacity_faces(tmp_path, base_url=server.url, progress=False)  # no-op
    assert len(server.requests) == n


def test_fetch_coco_layout(server, tmp_path):
    server.files["annotations_trainval2014.zip"] = _zip(
        {"annotations/captions_val2014.json": b'{"images": []}'})
    server.files["val2014.zip"] = _zip({"val2014/COCO_val2014_000000000042.jpg": b"jpg"})
    out = fetch_coco(tmp_path, parts=("annotations", "val"), base_url=server.url,
                     progress=False)
    assert (out / "annotations" / "captions_val2014.json").is_file()
    assert (out / "images" / "val2014" / "COCO_val2014_000000000042.jpg").is_file()
    assert (tmp_path / "downloads" / "val2014.zip").is_file()  # kept by default
    with pytest.raises(FetchError, match="unknown COCO part"):
        fetch_coco(tmp_path, parts=("trian",), base_url=server.url, progress=False)


def test_zip_path_traversal_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip({"ok.txt": b"fine", "../evil": b"boom"}))
    with pytest.raises(FetchError, match="outside"):
        extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "out" / "ok.txt").exists()


@pytest.mark.parametrize("damage", ["not_a_zip", "bad_member"])
def test_corrupt_zip(tmp_path, damage):
    archive = tmp_path / "bad.zip"
    if damage == "not_a_zip":
        archive.write_bytes(b"this is not a zip file at all")
    else:
        data = bytearray(_zip({"big.txt": PAYLOAD}))
        data[100:140] = bytes(40)  # inside the compressed member
        archive.write_bytes(bytes(data))
    with pytest.raises(FetchError, match="bad.zip") as err:
        extract(archive, tmp_path / "out", progress=False)
    assert "\n" not in str(err.value)
