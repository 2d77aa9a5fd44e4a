"""TeraValidate: check that TeraSort's output is in global order and has the input's records.

    python jobs/teravalidate.py /tmp/tera-out [--input /tmp/tera-in] [-r inline|local|ray]

Prints the record count and checksum; exits 1 when the order or the checksum is wrong.
"""
import argparse
import sys

from rayemr.mapreduce.tera import teravalidate

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("output")
    p.add_argument("--input", help="also check the checksum against this input")
    p.add_argument("-r", "--runner", choices=("inline", "local", "ray"), default="local")
    a = p.parse_args()
    runner = "inline" if a.runner == "inline" else "ray"
    out = teravalidate(a.output, runner=runner)
    print(f"records={out.records} checksum={out.checksum:016x}")
    errors = list(out.errors)
    if a.input:
        src = teravalidate(a.input, runner=runner)
        if (src.records, src.checksum) != (out.records, out.checksum):
            errors.append(f"input has records={src.records} checksum={src.checksum:016x}")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else "FAILED")
    sys.exit(1 if errors else 0)
