# Shared by the bats suites: which binary to test and how to run it.
# make exports VCPUCTL (./vcpuctl, or build-asan/vcpuctl under check-asan);
# VCPUCTL_WRAP runs it under a tool (valgrind in check-valgrind).
: "${VCPUCTL:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/vcpuctl}"
export VCPUCTL

VC() {
	# shellcheck disable=SC2086
	${VCPUCTL_WRAP:-} "$VCPUCTL" "$@"
}
