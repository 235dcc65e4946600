#!/usr/bin/env python3
"""tests/hostvm/auditctl.py 0|1 - turn the kernel's audit subsystem off or
on, as "auditctl -e" does (auditd's tools are not installed here); prints
the state the kernel then reports.  Root only, and only inside the host VM:
it changes the running kernel."""
import ctypes
import sys

lib = ctypes.CDLL("libaudit.so.1", use_errno=True)
fd = lib.audit_open()
if fd < 0:
    sys.exit("audit_open: errno %d" % ctypes.get_errno())
if lib.audit_set_enabled(fd, int(sys.argv[1])) < 0:
    sys.exit("audit_set_enabled: errno %d" % ctypes.get_errno())
print(lib.audit_is_enabled(fd))
lib.audit_close(fd)
