"""The command line wiring."""

import pytest

from validation.cli import build_parser


def test_every_command_parses_common_options():
    parser = build_parser()
    for name in ("validate", "curves", "rae", "all"):
        args = parser.parse_args([name, "--seed", "3", "--device", "cpu"])
        assert args.seed == 3 and args.device == "cpu"


def test_bad_device_is_rejected(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["validate", "--device", "tpu"])
    assert "--device" in capsys.readouterr().err


@pytest.mark.parametrize("only", [["samplers", "sampler"], []])
def test_validate_rejects_unknown_or_empty_groups(only, tmp_path, capsys):
    from validation import validate

    args = build_parser().parse_args(["validate", "--out", str(tmp_path), "--only", *only])
    assert validate.run(args) == 2
    err = capsys.readouterr().err
    assert "--only" in err and "choose from discrepancies, samplers, slicing, spherical" in err
    assert not (tmp_path / "report.json").exists()
