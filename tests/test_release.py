import os

from dolma.cli import main
from dolma.release.verify import verify_release, write_release_manifest


def make_release(root):
    (root / "documents").mkdir(parents=True)
    (root / "documents/a.jsonl.gz").write_bytes(b"\x1f\x8b shard bytes")
    (root / "tokens").mkdir()
    (root / "tokens/part-0-00000.npy").write_bytes(bytes(range(200)))
    write_release_manifest(str(root), {"recipe": "test", "seed": 1}, inputs=[])


def test_verify_passes_on_an_untouched_release(tmp_path, capsys):
    make_release(tmp_path)
    assert verify_release(str(tmp_path)) == []
    assert main(["verify", str(tmp_path)]) == 0
    assert "every file matches" in capsys.readouterr().out


def test_verify_catches_one_changed_byte_a_missing_and_an_extra_file(tmp_path, capsys):
    make_release(tmp_path)
    path = tmp_path / "tokens/part-0-00000.npy"
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    os.remove(tmp_path / "documents/a.jsonl.gz")
    (tmp_path / "extra.txt").write_text("x")
    assert sorted(verify_release(str(tmp_path))) == [
        "changed: tokens/part-0-00000.npy (sha256 differs)",
        "missing: documents/a.jsonl.gz",
        "not listed: extra.txt",
    ]
    assert main(["verify", "--path", str(tmp_path)]) == 1
    assert "3 difference(s)" in capsys.readouterr().err


def test_verify_of_a_folder_without_manifest_is_a_clear_error(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    assert "no release.json here" in capsys.readouterr().err
