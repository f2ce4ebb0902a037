// SPDX-License-Identifier: GPL-2.0-only
/*
 * Isolation between the users of /dev/tpmrm0, and between the resource
 * manager and the TPM's other users:
 *  - the fair share of the TPM's session handles is per user, so a user
 *    who opens many files cannot make another user's few idle sessions
 *    the victims;
 *  - a session the resource manager holds but /dev/tpm0 flushed is not
 *    its own any more: the handle, given to a new session of another
 *    file, is never flushed on the old owner's behalf;
 *  - the kernel's own HMAC sessions (CONFIG_TCG_TPM2_HMAC) still start
 *    when files hold every session handle: /dev/hwrng reads.
 * See Documentation/security/tpm/tpm-space.rst.
 *
 * Needs root, a TPM 2.0 with ACTIVE_SESSIONS_MAX 64 (swtpm), /dev/tpm0
 * and /dev/tpmrm0, and no other user of the TPM (the QEMU + swtpm guest of
 * tools/testing/tpm2-qemu).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

#define HWRNG_DEV	"/dev/hwrng"
/* Only a kernel with CONFIG_TCG_TPM2_HMAC has it */
#define NULL_NAME	"/sys/class/tpm/tpm0/null_name"

#define EVICTED_S0	(TPM2T_RM_LAYER | TPM2_RC_REFERENCE_S0)

#define GRACE_MS	300
#define UID_MANY	1000	/* opens many files */
#define UID_FEW		1001	/* holds a few sessions in one file */
#define NR_MANY		60
#define NR_FEW		4
#define NR_NEW		4
#define MAX_FILES	70

/* Opens /dev/tpmrm0 with @euid as the opener's effective uid. */
static int open_as(uid_t euid)
{
	int fd;

	if (seteuid(euid))
		return -errno;
	fd = tpm2t_open(TPM2T_RM_DEV);
	if (seteuid(0))
		return -errno;
	return fd;
}

/* The test's files, closed on teardown */
struct files {
	int fd[MAX_FILES];
	int nr;
};

FIXTURE(isolation) {
	long grace_ms;		/* to restore */
	mode_t rm_mode;		/* to restore */
	struct tpm2t_census before;
	__u32 active_max;
	struct files files;
};

FIXTURE_SETUP(isolation)
{
	struct stat st;
	int fd;

	self->files.nr = 0;
	self->grace_ms = -1;
	if (access(TPM2T_RM_DEV, R_OK | W_OK) || access(TPM2T_TPM_DEV, R_OK | W_OK))
		SKIP(return, "%s and %s are needed", TPM2T_RM_DEV, TPM2T_TPM_DEV);
	if (tpm2t_read_param("space_session_grace_ms", &self->grace_ms))
		SKIP(return, "no space_session_grace_ms: not our resource manager");
	ASSERT_EQ(0, tpm2t_write_param("space_session_grace_ms", GRACE_MS));

	ASSERT_EQ(0, stat(TPM2T_RM_DEV, &st));
	self->rm_mode = st.st_mode & 07777;
	/* other users must be able to open it */
	ASSERT_EQ(0, chmod(TPM2T_RM_DEV, 0666));

	fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, fd);
	ASSERT_TPM_OK(tpm2t_get_property(fd, TPM2_PT_ACTIVE_SESSIONS_MAX,
					 &self->active_max));
	close(fd);
	ASSERT_TPM_OK(tpm2t_census(-1, &self->before));
	ASSERT_LE(self->before.saved + NR_MANY + NR_FEW, self->active_max);
}

FIXTURE_TEARDOWN(isolation)
{
	while (self->files.nr)
		close(self->files.fd[--self->files.nr]);
	if (self->grace_ms >= 0) {
		tpm2t_write_param("space_session_grace_ms", self->grace_ms);
		chmod(TPM2T_RM_DEV, self->rm_mode);
	}
}

static int keep_fd(struct __test_metadata *_metadata, struct files *files,
		   int fd)
{
	EXPECT_LE(0, fd)
		TH_LOG("open %s: %s", TPM2T_RM_DEV, strerror(-fd));
	if (fd >= 0 && files->nr < MAX_FILES)
		files->fd[files->nr++] = fd;
	return fd;
}

static void close_all(struct files *files)
{
	while (files->nr)
		close(files->fd[--files->nr]);
}

/*
 * A file opened as @uid, kept on @files, with @nr HMAC sessions started
 * into @s. Returns its fd.
 */
static int open_with_sessions(struct __test_metadata *_metadata,
			      struct files *files, uid_t uid,
			      struct tpm2t_session *s, int nr)
{
	int fd, i;

	fd = keep_fd(_metadata, files, open_as(uid));
	ASSERT_LE(0, fd);
	for (i = 0; i < nr; i++)
		ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC,
						       &s[i]));
	return fd;
}

/* Every file closed: the TPM holds what it held before the test. */
#define ASSERT_NOTHING_LEFT() do {					\
	struct tpm2t_census __c;					\
									\
	ASSERT_NO_LEAK(&__c, &self->before);				\
} while (0)

/*
 * A user with 4 idle sessions in one file, another with one idle session
 * in each of 60 files: 64 handles for 2 users make a share of 32, so the
 * second user is the one over it. Its new sessions evict its own oldest
 * sessions, though the first user's are older still.
 */
TEST_F_TIMEOUT(isolation, fair_share_per_user, 180)
{
	struct tpm2t_session few[NR_FEW], many[NR_MANY], fresh[NR_NEW];
	int few_fd, new_fd, fd, i, res, lost_many = 0;

	few_fd = open_with_sessions(_metadata, &self->files, UID_FEW, few,
				    NR_FEW);
	for (i = 0; i < NR_MANY; i++)
		open_with_sessions(_metadata, &self->files, UID_MANY, &many[i],
				   1);
	/* the rest of the TPM's handles, if any, to the many-files user */
	fd = keep_fd(_metadata, &self->files, open_as(UID_MANY));
	ASSERT_LE(0, fd);
	for (i = self->before.saved + NR_FEW + NR_MANY; i < self->active_max;
	     i++) {
		struct tpm2t_session pad;

		ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &pad));
	}
	tpm2t_sleep_ms(GRACE_MS + 300);

	new_fd = open_with_sessions(_metadata, &self->files, UID_MANY, fresh,
				    NR_NEW);

	for (i = 0; i < NR_FEW; i++) {
		res = tpm2t_use_session(few_fd, &few[i]);
		EXPECT_EQ(0, res)
			TH_LOG("user %d's session %d (0x%08x), in one file: %s",
			       UID_FEW, i, few[i].handle, tpm2t_strerror(res));
	}
	for (i = 0; i < NR_MANY; i++) {
		res = tpm2t_use_session(self->files.fd[1 + i], &many[i]);
		if (res == EVICTED_S0)
			lost_many++;
		else
			EXPECT_EQ(0, res)
				TH_LOG("user %d's session %d: %s", UID_MANY, i,
				       tpm2t_strerror(res));
	}
	TH_LOG("user %d lost %d of its %d one-session files' sessions",
	       UID_MANY, lost_many, NR_MANY);
	EXPECT_EQ(NR_NEW, lost_many);
	for (i = 0; i < NR_NEW; i++)
		EXPECT_EQ(0, tpm2t_use_session(new_fd, &fresh[i]));

	close_all(&self->files);
	ASSERT_NOTHING_LEFT();
}

/*
 * /dev/tpm0 flushes a session a file holds through the resource manager,
 * and the TPM gives its handle to another file's new session. The old
 * owner's use of the handle gets the defined error, and its close does
 * not flush the new owner's session. The files' objects are not touched.
 */
TEST_F_TIMEOUT(isolation, outside_flush, 120)
{
	struct tpm2t_session old_a, old_b, new_a, new_b;
	int a, b, na, nb, tpm0, res;
	__u8 digest[TPM2_SHA256_SIZE] = { 1 };
	__u32 key;

	a = keep_fd(_metadata, &self->files, tpm2t_open(TPM2T_RM_DEV));
	b = keep_fd(_metadata, &self->files, tpm2t_open(TPM2T_RM_DEV));
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_TPM_OK(tpm2t_create_primary_ecc(a, TPM2_RH_NULL, &key, NULL,
					       NULL));
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC, &old_a));
	ASSERT_TPM_OK(tpm2t_start_auth_session(b, TPM2_SE_HMAC, &old_b));
	ASSERT_EQ(0, tpm2t_use_session(a, &old_a));

	/* the outside flush, of sessions the RM holds saved */
	tpm0 = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, tpm0);
	ASSERT_TPM_OK(tpm2t_flush_context(tpm0, old_a.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(tpm0, old_b.handle));
	close(tpm0);

	na = keep_fd(_metadata, &self->files, tpm2t_open(TPM2T_RM_DEV));
	nb = keep_fd(_metadata, &self->files, tpm2t_open(TPM2T_RM_DEV));
	ASSERT_LE(0, na);
	ASSERT_LE(0, nb);
	ASSERT_TPM_OK(tpm2t_start_auth_session(na, TPM2_SE_HMAC, &new_a));
	ASSERT_TPM_OK(tpm2t_start_auth_session(nb, TPM2_SE_HMAC, &new_b));
	TH_LOG("flushed 0x%08x and 0x%08x; new sessions 0x%08x and 0x%08x",
	       old_a.handle, old_b.handle, new_a.handle, new_b.handle);

	/* the old owner that uses its handle is told */
	res = tpm2t_use_session(b, &old_b);
	EXPECT_EQ(EVICTED_S0, res)
		TH_LOG("old owner's use: %s", tpm2t_strerror(res));
	/* the one that closes flushes nobody's session */
	close(a);
	self->files.fd[0] = -1;
	res = tpm2t_use_session(na, &new_a);
	EXPECT_EQ(0, res)
		TH_LOG("new session 0x%08x after the old owner's close: %s",
		       new_a.handle, tpm2t_strerror(res));
	res = tpm2t_use_session(nb, &new_b);
	EXPECT_EQ(0, res)
		TH_LOG("new session 0x%08x after the old owner's use: %s",
		       new_b.handle, tpm2t_strerror(res));
	close(b);
	self->files.fd[1] = -1;
	EXPECT_EQ(0, tpm2t_use_session(na, &new_a));
	EXPECT_EQ(0, tpm2t_use_session(nb, &new_b));

	/* a new file's object is unaffected by all this */
	a = keep_fd(_metadata, &self->files, tpm2t_open(TPM2T_RM_DEV));
	ASSERT_TPM_OK(tpm2t_create_primary_ecc(a, TPM2_RH_NULL, &key, NULL,
					       NULL));
	EXPECT_EQ(0, tpm2t_sign(a, key, digest));

	close_all(&self->files);
	ASSERT_NOTHING_LEFT();
}

/*
 * TPM2_Startup(CLEAR) through /dev/tpm0 without a reset is refused with
 * TPM_RC_INITIALIZE: the TPM was not reset, and the files keep their
 * sessions.
 */
TEST_F(isolation, refused_startup_keeps_sessions)
{
	struct tpm2t_session s;
	struct tpm2t_buf cmd, rsp;
	int fd, tpm0, res;

	fd = keep_fd(_metadata, &self->files, tpm2t_open(TPM2T_RM_DEV));
	ASSERT_LE(0, fd);
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s));

	tpm0 = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, tpm0);
	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, 0x144 /* Startup */);
	tpm2t_put_u16(&cmd, 0 /* TPM_SU_CLEAR */);
	tpm2t_cmd_finish(&cmd);
	res = tpm2t_run(tpm0, &cmd, &rsp);
	close(tpm0);
	EXPECT_EQ(0x100 /* TPM_RC_INITIALIZE */, res)
		TH_LOG("Startup(CLEAR) on a started TPM: %s",
		       tpm2t_strerror(res));

	EXPECT_EQ(0, tpm2t_use_session(fd, &s));
	close_all(&self->files);
	ASSERT_NOTHING_LEFT();
}

/*
 * With CONFIG_TCG_TPM2_HMAC the kernel's hwrng reads start a session of
 * their own. Files holding every session handle of the TPM must not make
 * them fail; one session of a file makes room, and its owner is told.
 */
TEST_F_TIMEOUT(isolation, kernel_sessions_not_starved, 120)
{
	struct tpm2t_session s[64];
	int i, n, fd = -1, res, lost = 0;
	__u8 rnd[16];
	ssize_t got;
	int rng;

	if (access(NULL_NAME, F_OK))
		SKIP(return, "the kernel starts no HMAC sessions (no %s)",
		     NULL_NAME);
	if (access(HWRNG_DEV, R_OK))
		SKIP(return, "%s is needed (CONFIG_HW_RANDOM_TPM)", HWRNG_DEV);
	ASSERT_GE(64, self->active_max);

	n = self->active_max - self->before.saved;
	for (i = 0; i < n; i++) {
		if (i % 16 == 0) {
			fd = keep_fd(_metadata, &self->files, tpm2t_open(TPM2T_RM_DEV));
			ASSERT_LE(0, fd);
		}
		ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s[i]));
	}

	rng = open(HWRNG_DEV, O_RDONLY);
	ASSERT_LE(0, rng)
		TH_LOG("open %s: %s", HWRNG_DEV, strerror(errno));
	got = read(rng, rnd, sizeof(rnd));
	EXPECT_EQ((ssize_t)sizeof(rnd), got)
		TH_LOG("read %s with every session handle taken: %s",
		       HWRNG_DEV, got < 0 ? strerror(errno) : "short read");
	close(rng);

	for (i = 0; i < n; i++) {
		res = tpm2t_use_session(self->files.fd[i / 16], &s[i]);
		if (res == EVICTED_S0)
			lost++;
		else
			EXPECT_EQ(0, res)
				TH_LOG("session %d: %s", i, tpm2t_strerror(res));
	}
	TH_LOG("%d of %d sessions evicted for the kernel", lost, n);
	EXPECT_GE(1, lost);

	close_all(&self->files);
	ASSERT_NOTHING_LEFT();
}

TEST_HARNESS_MAIN
