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
