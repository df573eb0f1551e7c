import subprocess
import sys
import textwrap


def test_setup_rule_logging_captures_file_descriptors(tmp_path):
    log = tmp_path / "logs" / "rule.log"
    script = textwrap.dedent(
        f"""
        import os
        from moment_pooling.logs import setup_rule_logging

        logger = setup_rule_logging({str(log)!r}, "demo")
        logger.info("from logging")
        print("from print")
        os.write(1, b"from fd 1\\n")
        os.write(2, b"from fd 2\\n")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    text = log.read_text()
    assert "moment-pooling" in text.splitlines()[0]
    for line in ("from logging", "from print", "from fd 1", "from fd 2"):
        assert line in text
    assert result.stdout == ""
    assert result.stderr == ""
