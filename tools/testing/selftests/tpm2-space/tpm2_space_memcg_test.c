// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the resource manager allocates for a file of /dev/tpmrm0 is charged
 * to the memory cgroup of the process that opened the file (see
 * Documentation/security/tpm/tpm-space.rst):
 *  - not to a process that writes to the file from another cgroup (the
 *    file was passed on, or its opener moved);
 *  - and not to nobody when the commands of an O_NONBLOCK file run in the
 *    kernel's worker thread.
 *
 * Each case fills files with objects, all ContextLoads of one key's
 * context. The resource manager keeps a copy of every context, so the
 * opener's memory.current grows by at least the contexts' bytes, less
 * what the memory controller charges ahead in per-CPU batches.
 *
 * Needs root, cgroup v2 with the memory controller (CONFIG_MEMCG),
 * /dev/tpm0 and /dev/tpmrm0, and no other user of the TPM (the QEMU +
 * swtpm guest of tools/testing/tpm2-qemu).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CG_OPENER	CGROUP_ROOT "/tpm2-space-opener"
#define CG_WRITER	CGROUP_ROOT "/tpm2-space-writer"

/*
 * The memory controller charges a cgroup MEMCG_CHARGE_BATCH (64) pages
 * ahead on each CPU, and keeps up to a page of bytes per CPU for slab
 * objects: by that much memory.current may lag behind or run ahead.
 */
#define CHARGE_BATCH_PAGES	(64 + 1)
#define MAX_FILES		64

/* Writes @value to the cgroup file @dir/@name: 0 or -errno */
static int cg_write(const char *dir, const char *name, const char *value)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* memory.current of @dir, in bytes, or -1 */
static long cg_memory_current(const char *dir)
{
	char path[PATH_MAX];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

/* Moves the calling process into the cgroup @dir: 0 or -errno */
static int cg_join(const char *dir)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", getpid());
	return cg_write(dir, "cgroup.procs", pid);
}

/* mkdir of a cgroup that may be left from an earlier run: 0 or -errno */
static int cg_create(const char *dir)
{
	return mkdir(dir, 0755) && errno != EEXIST ? -errno : 0;
}

static bool has_memory_controller(void)
{
	char buf[256] = "";
	FILE *f = fopen(CGROUP_ROOT "/cgroup.controllers", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "memory");
}

FIXTURE(memcg) {
	bool mounted;		/* cgroup2 mounted by the test */
	int key_fd;		/* the file of the key whose context is loaded */
	struct tpm2t_context ctx;
	long quota;		/* space_max_objects */
	long slack;		/* bytes memory.current may be off by */
	int fd[MAX_FILES];
	int nr_files;
	long bytes;		/* of the contexts the files keep */
	struct tpm2t_census before;
};

FIXTURE_SETUP(memcg)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	__u32 key;
	int i;

	self->key_fd = -1;
	for (i = 0; i < MAX_FILES; i++)
		self->fd[i] = -1;
	if (!tpm2t_devices_usable())
		SKIP(return, TPM2T_DEVICES_NEEDED);
	if (tpm2t_read_param("space_max_objects", &self->quota))
		SKIP(return, "no space_max_objects: not our resource manager");
	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK)) {
		if (mount("none", CGROUP_ROOT, "cgroup2", 0, NULL))
			SKIP(return, "no cgroup v2 at %s: %s", CGROUP_ROOT,
			     strerror(errno));
		self->mounted = true;
	}
	if (!has_memory_controller())
		SKIP(return, "no memory controller (CONFIG_MEMCG)");
	ASSERT_EQ(0, cg_write(CGROUP_ROOT, "cgroup.subtree_control", "+memory"));
	ASSERT_EQ(0, cg_create(CG_OPENER));
	ASSERT_EQ(0, cg_create(CG_WRITER));

	/* the key's file is the root cgroup's: it charges neither */
	self->key_fd = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, self->key_fd);
	ASSERT_TPM_OK(tpm2t_create_key(self->key_fd, TPM2_RH_NULL, &key));
	ASSERT_TPM_OK(tpm2t_context_save(self->key_fd, key, &self->ctx));

	/* enough files for the contexts to be three times the slack */
	self->slack = (cpus > 0 ? cpus : 1) * CHARGE_BATCH_PAGES *
		      sysconf(_SC_PAGESIZE);
	self->nr_files = 3 * self->slack / (self->quota * self->ctx.len) + 1;
	ASSERT_GE(MAX_FILES, self->nr_files);
	self->bytes = self->nr_files * self->quota * (long)self->ctx.len;
	TH_LOG("%d files of %ld objects, contexts of %zu bytes, slack %ld",
	       self->nr_files, self->quota, self->ctx.len, self->slack);
	ASSERT_ZERO_SLOTS(&self->before);
}

FIXTURE_TEARDOWN(memcg)
{
	tpm2t_close_files(self->fd, MAX_FILES);
	if (self->key_fd >= 0)
		close(self->key_fd);
	cg_join(CGROUP_ROOT);
	rmdir(CG_OPENER);
	rmdir(CG_WRITER);
	if (self->mounted)
		umount(CGROUP_ROOT);
}

/* Opens @nr files, O_NONBLOCK with @nonblock: 0 or -errno */
static int open_files(int *fd, int nr, bool nonblock)
{
	int i;

	for (i = 0; i < nr; i++) {
		fd[i] = open(TPM2T_RM_DEV, O_RDWR | (nonblock ? O_NONBLOCK : 0));
		if (fd[i] < 0)
			return -errno;
	}
	return 0;
}

/* Loads @ctx @per_file times into each of @nr files: 0 or the failure */
static int fill_files(const int *fd, int nr, long per_file,
		      const struct tpm2t_context *ctx)
{
	__u32 handle;
	long i;
	int f, res;

	for (f = 0; f < nr; f++)
		for (i = 0; i < per_file; i++) {
			res = tpm2t_context_load(fd[f], ctx, &handle);
			if (res)
				return res;
		}
	return 0;
}

/*
 * The opener's cgroup paid for @bytes of contexts: memory.current grew
 * from @before to @during by at least that, less @slack.
 */
#define ASSERT_CHARGED(bytes, slack, before, during) do {		\
	long __bytes = (bytes), __grown = (during) - (before);		\
									\
	TH_LOG("opener's memory.current grew by %ld bytes for %ld"	\
	       " bytes of contexts", __grown, __bytes);			\
	ASSERT_LE(__bytes - (slack), __grown);				\
} while (0)

/* ... and once @fd's files are closed, it has the charge back */
#define ASSERT_UNCHARGED(fd, slack, before) do {			\
	long __left;							\
									\
	tpm2t_close_files(fd, MAX_FILES);				\
	__left = cg_memory_current(CG_OPENER) - (before);		\
	TH_LOG("after close(): %ld bytes above", __left);		\
	ASSERT_GE(slack, __left);					\
} while (0)

/*
 * Files opened in one cgroup and written to from another: the opener's
 * cgroup is charged, the writer's is not.
 */
TEST_F_TIMEOUT(memcg, opener_pays_not_writer, 300)
{
	long opener0, writer0, opener1, writer1;
	struct tpm2t_census c;

	ASSERT_EQ(0, cg_join(CG_OPENER));
	ASSERT_EQ(0, open_files(self->fd, self->nr_files, false));
	ASSERT_EQ(0, cg_join(CG_WRITER));

	opener0 = cg_memory_current(CG_OPENER);
	writer0 = cg_memory_current(CG_WRITER);
	ASSERT_LE(0, opener0);
	ASSERT_LE(0, writer0);
	ASSERT_TPM_OK(fill_files(self->fd, self->nr_files, self->quota,
				 &self->ctx));
	opener1 = cg_memory_current(CG_OPENER);
	writer1 = cg_memory_current(CG_WRITER);
	ASSERT_ZERO_SLOTS(&c);

	TH_LOG("writer's memory.current grew by %ld bytes", writer1 - writer0);
	ASSERT_GT(self->bytes / 2, writer1 - writer0);
	ASSERT_CHARGED(self->bytes, self->slack, opener0, opener1);
	ASSERT_UNCHARGED(self->fd, self->slack, opener0);
}

/*
 * O_NONBLOCK files: their commands run in the kernel's worker, and the
 * opener's cgroup is still charged.
 */
TEST_F_TIMEOUT(memcg, opener_pays_for_nonblocking_files, 300)
{
	long opener0, opener1;
	struct tpm2t_census c;

	ASSERT_EQ(0, cg_join(CG_OPENER));
	ASSERT_EQ(0, open_files(self->fd, self->nr_files, true));

	opener0 = cg_memory_current(CG_OPENER);
	ASSERT_LE(0, opener0);
	ASSERT_TPM_OK(fill_files(self->fd, self->nr_files, self->quota,
				 &self->ctx));
	opener1 = cg_memory_current(CG_OPENER);
	ASSERT_ZERO_SLOTS(&c);

	ASSERT_CHARGED(self->bytes, self->slack, opener0, opener1);
	ASSERT_UNCHARGED(self->fd, self->slack, opener0);
}

TEST_HARNESS_MAIN
