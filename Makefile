# SPDX-License-Identifier: GPL-2.0-only
#
# tpm2-space: a TPM 2.0 resource manager for /dev/tpmrmN, kept as an overlay
# and a patch series on Debian's linux-source-6.12. See README.
#
#   make                 install what is missing, build our kernel
#   make check           KUnit, then the guest tests (upstream's and ours)
#   make check-controls KDEBUG=1
#                        trip each of the debug kernel's detectors once and
#                        check that the kernel log check fails on it
#   make check-modules   the TPM driver and the KUnit tests as modules in
#                        the guest: modprobe, rmmod, modprobe again
#   make check-distro    drivers/char/tpm with W=1 in Debian's own config
#   make htmldocs        the documentation of security/tpm, our page in it
#   make run             boot our kernel and show the resource manager at work
#   make shell           interactive shell in the guest
#   make series          write the series as git format-patch files and
#                        check every step (SERIES_STEPS=0: only the end)
#   make stack-open      the stack of patches/ as branch 'stack' in
#                        build/stack, for git rebase -i
#   make stack-save      write build/stack back to patches/ and the overlay
#   make stack-fold      fold overlay edits into the stack's commits
#   make bench           the guest benchmark: /dev/tpm0, the base kernel's
#                        /dev/tpmrm0, ours and tpm2-abrmd side by side
#   make bench-native    the resource manager's own CPU time per command,
#                        KUnit under UML against the fake TPM
#   make fuzz            fuzz the command parser and the handle tables in
#                        user space (libFuzzer), FUZZ_TIME seconds
#
# Variables:
#   UPSTREAM=1           the unmodified base instead of our series, built
#                        with the same config, for side-by-side runs
#   KDEBUG=1             the debug variant (KASAN, KMEMLEAK, lockdep, ...)
#   HMAC=1               CONFIG_TCG_TPM2_HMAC=y (the kernel's own HMAC
#                        sessions); combines with KDEBUG=1 and UPSTREAM=1
#   MODULES=1            the TPM core, its drivers and the KUnit tests as
#                        modules (build/obj-ours-mod, installed in modinst/)
#   BUILD=dir            where everything generated goes (default: build)
#   BASE_TARBALL=file    the base (default: /usr/src/linux-source-6.12.tar.xz)
#   JOBS=n               parallel build jobs (default: nproc)
#   FUZZ_TIME=s          make fuzz: seconds of fuzzing in all (default 300)

UPSTREAM ?= 0
KDEBUG ?= 0
HMAC ?= 0
MODULES ?= 0
BUILD ?= build
BASE_TARBALL ?= /usr/src/linux-source-6.12.tar.xz
JOBS ?= $(shell nproc)
FUZZ_TIME ?= 300

TOOLS := tools/testing/tpm2-qemu
ABS_BUILD := $(abspath $(BUILD))
BASE := $(ABS_BUILD)/base
OURS := $(ABS_BUILD)/src

ifeq ($(UPSTREAM),1)
RM_NAME := upstream
SRC := $(BASE)
else
RM_NAME := ours
SRC := $(OURS)
endif

FRAGMENTS := $(abspath Kconfig)
VARIANT := $(RM_NAME)
KTARGETS := bzImage
ifeq ($(KDEBUG),1)
FRAGMENTS += $(abspath $(TOOLS)/debug.config)
VARIANT := $(VARIANT)-debug
# The positive controls' modules (debug.config)
KTARGETS += modules
# Under TCG, ACPI's interpreter on this kernel (KASAN, lockdep) takes
# longer than its 30 s loop limit for the PCI routing table (_PRT): the
# guest routes PCI interrupts from the BIOS's table instead.
VM_APPEND := pci=noacpi
endif
ifeq ($(HMAC),1)
FRAGMENTS += $(abspath $(TOOLS)/hmac.config)
VARIANT := $(VARIANT)-hmac
endif
ifeq ($(MODULES),1)
# The TPM core, its drivers and the KUnit tests as modules, installed
# into KOUT/modinst for the guest's modprobe -d
FRAGMENTS += $(abspath $(TOOLS)/modules.config)
VARIANT := $(VARIANT)-mod
KTARGETS += modules
endif
KOUT := $(ABS_BUILD)/obj-$(VARIANT)
MODINST := $(KOUT)/modinst
BZIMAGE := $(KOUT)/arch/x86/boot/bzImage
SELFTESTS := $(ABS_BUILD)/selftests
KUNIT_OUT := $(ABS_BUILD)/kunit
UPSTREAM_BZIMAGE := $(ABS_BUILD)/obj-$(patsubst ours%,upstream%,$(VARIANT))/arch/x86/boot/bzImage

.PHONY: all deps tree base kernel selftests kunit lint check check-guest \
	check-controls check-modules check-distro htmldocs run shell series \
	stack-open stack-save stack-fold bench bench-native fuzz clean

all: kernel

deps:
	@$(TOOLS)/install-deps.sh

base: deps
	@$(TOOLS)/prepare-tree.sh base $(BASE_TARBALL) $(BASE)

tree: base
	@$(TOOLS)/prepare-tree.sh ours $(CURDIR) $(BASE) $(OURS)

$(KOUT)/.config: $(FRAGMENTS) $(TOOLS)/configure-kernel.sh | tree
	@$(TOOLS)/configure-kernel.sh $(SRC) $(KOUT) $(FRAGMENTS)

kernel: $(KOUT)/.config
	@echo "building $(VARIANT) kernel in $(KOUT)"
	@$(MAKE) -s -C $(SRC) O=$(KOUT) ARCH=x86_64 -j$(JOBS) $(KTARGETS)
ifeq ($(MODULES),1)
	@rm -rf $(MODINST)
	@$(MAKE) -s -C $(SRC) O=$(KOUT) ARCH=x86_64 INSTALL_MOD_PATH=$(MODINST) \
		modules_install
endif
	@echo "kernel: $(BZIMAGE) (Linux $$(cat $(BASE)/.tpm2-base-version), RM=$(RM_NAME))"

# Installed with the kernel's runner (run_kselftest.sh, kselftest-list.txt)
selftests: tree
	@rm -rf $(SELFTESTS)
	@$(MAKE) -s -C $(OURS)/tools/testing/selftests TARGETS=tpm2-space \
		O=$(ABS_BUILD)/selftests-build KSFT_INSTALL_PATH=$(SELFTESTS) \
		install >/dev/null

kunit: tree
	@$(TOOLS)/check.sh --kunit-only --src $(OURS) --kunit-out $(KUNIT_OUT)

# The plain check also boots the HMAC variant once, for the isolation
# suite's case of the kernel's own sessions (check.sh --hmac-kernel).
ifeq ($(UPSTREAM)$(KDEBUG)$(HMAC)$(MODULES),0000)
CHECK_HMAC_KERNEL := $(ABS_BUILD)/obj-ours-hmac/arch/x86/boot/bzImage
endif

# What the guest suites of make check and make check-guest need
CHECK_GUEST_ARGS = --rm $(RM_NAME) --kernel $(BZIMAGE) --src $(OURS) \
	--base $(BASE) --selftests $(SELFTESTS) \
	--logs $(ABS_BUILD)/logs-$(VARIANT) --vm-append "$(VM_APPEND)"

check: kernel selftests
ifdef CHECK_HMAC_KERNEL
	@$(MAKE) -s HMAC=1 kernel
endif
	@$(TOOLS)/check.sh $(CHECK_GUEST_ARGS) --kunit-out $(KUNIT_OUT) \
		--repo $(CURDIR) --lint-out $(ABS_BUILD)/obj-lint \
		$(if $(CHECK_HMAC_KERNEL),--hmac-kernel $(CHECK_HMAC_KERNEL))

# The guest suites alone (check.sh --guest-only), e.g. KDEBUG=1 after a
# plain make check has run lint, KUnit (with KASAN too) and the fuzzers
check-guest: kernel selftests
	@$(TOOLS)/check.sh --guest-only $(CHECK_GUEST_ARGS)

# The debug kernel's detectors, each tripped on purpose once (check.sh
# --controls): the kernel log check must fail on every one of them.
CONTROLS := $(KOUT)/controls
check-controls: kernel
ifneq ($(KDEBUG),1)
	$(error check-controls needs KDEBUG=1: only the debug kernel has the detectors)
endif
	@rm -rf $(CONTROLS) && mkdir -p $(CONTROLS)
	@cp $(TOOLS)/controls/Kbuild $(TOOLS)/controls/*.c $(CONTROLS)/
	@$(MAKE) -s -C $(SRC) O=$(KOUT) ARCH=x86_64 M=$(CONTROLS) modules
	@$(TOOLS)/check.sh --rm $(RM_NAME) --kernel $(BZIMAGE) \
		--controls $(KOUT) --logs $(ABS_BUILD)/logs-$(VARIANT)-controls \
		--vm-append "$(VM_APPEND)"

# The TPM driver and the KUnit tests as modules (MODULES=1): modprobe,
# /dev/tpmrm0, the KUnit module's suites, rmmod and modprobe again.
MOD_KOUT := $(ABS_BUILD)/obj-$(patsubst %-mod,%,$(VARIANT))-mod
check-modules:
	@$(MAKE) -s MODULES=1 kernel selftests
	@$(TOOLS)/check.sh --rm $(RM_NAME) \
		--kernel $(MOD_KOUT)/arch/x86/boot/bzImage \
		--modules $(MOD_KOUT)/modinst --selftests $(SELFTESTS) \
		--logs $(ABS_BUILD)/logs-$(notdir $(MOD_KOUT)) \
		--vm-append "$(VM_APPEND)"

# drivers/char/tpm with W=1 in Debian's amd64 config, as shipped (IMA,
# TCG_TPM=y) and without IMA (TCG_TPM=m, the KUnit tests as modules)
check-distro: tree
	@$(TOOLS)/install-deps.sh --distro
	@$(TOOLS)/check-distro.sh $(OURS) $(ABS_BUILD)/distro

# The documentation of security/tpm, with our page: sphinx's warnings
htmldocs: tree
	@$(TOOLS)/install-deps.sh --docs
	@$(MAKE) -s -C $(OURS) O=$(ABS_BUILD)/obj-docs SPHINXDIRS=security/tpm \
		htmldocs

run: kernel
	@$(TOOLS)/vm-run.sh -k $(BZIMAGE) -t 300 -- \
		python3 $(CURDIR)/$(TOOLS)/demo.py $(BASE)/tools/testing/selftests/tpm2

bench: kernel
	@$(TOOLS)/install-deps.sh --bench
	@$(MAKE) -s UPSTREAM=1 kernel
	@$(TOOLS)/bench.sh $(BZIMAGE) $(UPSTREAM_BZIMAGE) $(ABS_BUILD)/bench

bench-native: tree
	@$(TOOLS)/bench-native.sh $(OURS) $(ABS_BUILD)/kunit-bench \
		$(ABS_BUILD)/bench

fuzz: tree
	@$(OURS)/tools/testing/tpm2-fuzz/run.sh --time $(FUZZ_TIME) \
		--out $(ABS_BUILD)/fuzz --coverage

shell: kernel
	@$(TOOLS)/vm-run.sh -k $(BZIMAGE) -t 3600 --shell

series: tree
	@$(TOOLS)/make-series.sh $(CURDIR) $(OURS).git $(ABS_BUILD)/series

stack-open: tree
	@$(TOOLS)/stack.sh open $(CURDIR) $(OURS).git $(ABS_BUILD)/stack

stack-save:
	@$(TOOLS)/stack.sh save $(CURDIR) $(ABS_BUILD)/stack

stack-fold: tree
	@$(TOOLS)/stack.sh fold $(CURDIR) $(OURS).git $(ABS_BUILD)/stack

clean:
	rm -rf $(BUILD)

lint: tree
	@$(TOOLS)/lint.sh $(CURDIR) $(OURS) $(ABS_BUILD)/obj-lint
