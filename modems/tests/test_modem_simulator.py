import subprocess
import sys
import time

from modems.driver import Modem


def test_modem_simulator_command_serves_a_real_pty():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "modem_simulator", "--incoming-every", "0.2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Simulated modem on /dev/")
        port = line.split()[3]
        time.sleep(0.6)
        with Modem(port, timeout=2.0) as modem:
            modem.initialise()
            texts, _ = modem.list_texts()
            assert texts
            modem.send_text("+447911123002", "hello from the test")
        time.sleep(0.7)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=5)
    assert "sent to +447911123002: hello from the test" in out
