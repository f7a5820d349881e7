#!/bin/bash
# t36-restore-pvh.sh - t35 on a PVH guest with the guest module: memory copied live, the
# guest stopped through the light path, resumed in place while its thick disk's writes are
# held until the snapshot is finished; the restore resumes it in a new domain through the
# module's full resume path. Memory, thin and thick disks must be of one instant. The
# second restore and --replace --force, which do not depend on the guest's type, are t35's.
# timeout: 1200
XLCP_GUEST_TYPE=pvh T35_MODULE=1 T35_SHORT=1 T35_NAME=grpvh exec bash "$(dirname "$0")/t35-restore.sh"
