// SPDX-License-Identifier: GPL-2.0-only
/*
 * A real TPM reset, and a FlushContext from outside, under live spaces
 * (see "Stale records" in Documentation/security/tpm/tpm-space.rst).
 *
 * QEMU holds the control channel of the guest's own swtpm, so the test
 * plugs a second TPM: a vtpm_proxy device served by an swtpm that runs in
 * the guest ("swtpm chardev --fd", on the proxy's file). Killing that
 * swtpm and starting a new one on the same state and the same proxy file
 * is a power cycle: the new TPM runs _TPM_Init and has lost every session
 * and the NULL hierarchy's seed, as after a firmware reset. The test then
 * sends TPM2_Startup(TPM_SU_CLEAR) through /dev/tpmN, as firmware or a
 * resume without state would.
 *
 * After it, a new client's sessions get the very handle numbers of the old
 * owners' sessions. The resource manager must not flush or claim them on
 * behalf of the old owners: their use gets the error of an evicted session
 * (0x000B0918 in the authorization area, 0x000B0910 in the handle area),
 * their close flushes nothing, the new client's sessions keep working,
 * and /dev/tpmN shows no slot held.
 *
 * Needs root, /dev/vtpmx (CONFIG_TCG_VTPM_PROXY) and swtpm in the guest
 * (the host's, through vm-run.sh's shared root filesystem).
 */
#define _GNU_SOURCE	/* close_range() */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

#define SWTPM			"/usr/bin/swtpm"
#define SWTPM_PROXY_FD		10	/* where swtpm finds the proxy file */

#define TPM2_CC_STARTUP		0x00000144
#define TPM2_SU_CLEAR		0x0000

#define EVICTED_S0	TPM2T_RM_RC(TPM2_RC_REFERENCE_S0)
#define EVICTED_H0	TPM2T_RM_RC(TPM2_RC_REFERENCE_H0)

#define OLD_SESSIONS	3
#define NEW_SESSIONS	4

/* A vTPM served by an swtpm of our own, which the test can power-cycle */
struct swtpm_vtpm {
	struct tpm2t_vtpm vtpm;	/* its server is swtpm */
	char state_dir[32];
	char log_path[64];
};

/* Run swtpm on @fd, the proxy file; it inherits nothing else of ours */
static pid_t swtpm_start(struct swtpm_vtpm *v, int fd)
{
	char state[64], log[80];
	pid_t pid;

	snprintf(state, sizeof(state), "dir=%s", v->state_dir);
	snprintf(log, sizeof(log), "file=%s", v->log_path);
	pid = fork();
	if (pid)
		return pid;
	if (dup2(fd, SWTPM_PROXY_FD) < 0)
		_exit(126);
	close_range(3, SWTPM_PROXY_FD - 1, 0);
	close_range(SWTPM_PROXY_FD + 1, ~0U, 0);
	/*
	 * not-need-init: swtpm runs _TPM_Init itself, as a power-on does;
	 * allow-set-locality: vtpm_proxy's own locality command; no seccomp
	 * profile, which a kernel without CONFIG_SECCOMP refuses
	 */
	execl(SWTPM, SWTPM, "chardev", "--tpm2", "--fd", "10",
	      "--tpmstate", state, "--log", log, "--flags", "not-need-init",
	      "--locality", "allow-set-locality", "--seccomp", "action=none",
	      (char *)NULL);
	_exit(127);
}

static int swtpm_stop(struct swtpm_vtpm *v)
{
	int status;

	if (v->vtpm.server <= 0)
		return 0;
	kill(v->vtpm.server, SIGTERM);
	if (waitpid(v->vtpm.server, &status, 0) < 0)
		return -errno;
	v->vtpm.server = 0;
	return 0;
}

/*
 * A new swtpm manufactures its TPM before it reads a command, which under
 * TCG can take longer than the kernel waits for the first answer of a
 * chip it registers. So manufacture it first, on /dev/null: swtpm stops
 * at the end of that file.
 */
static int swtpm_manufacture(struct swtpm_vtpm *v)
{
	int null, status;
	pid_t pid;

	null = open("/dev/null", O_RDWR);
	if (null < 0)
		return -errno;
	pid = swtpm_start(v, null);
	close(null);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static int swtpm_plug_once(struct swtpm_vtpm *v)
{
	int rc = tpm2t_vtpm_create(&v->vtpm);

	if (rc)
		return rc;
	/* the chip registers once the TPM behind it answers */
	v->vtpm.server = swtpm_start(v, v->vtpm.proxy);
	if (v->vtpm.server < 0)
		return -errno;
	return tpm2t_vtpm_wait_registered(&v->vtpm);
}

static void swtpm_unplug(struct swtpm_vtpm *v)
{
	if (v->vtpm.proxy >= 0)
		close(v->vtpm.proxy);
	v->vtpm.proxy = -1;
	swtpm_stop(v);
}

/*
 * Under TCG the guest's swtpm may miss the deadline of a command the
 * kernel sends while it registers the chip (Startup has 750 ms), and the
 * driver gives up on the chip then: plug again, a few times.
 */
static int swtpm_plug(struct swtpm_vtpm *v)
{
	int tries = 0, rc;

	snprintf(v->state_dir, sizeof(v->state_dir), "/tmp/tpm2t-swtpm.XXXXXX");
	if (!mkdtemp(v->state_dir))
		return -errno;
	snprintf(v->log_path, sizeof(v->log_path), "%s.log", v->state_dir);
	rc = swtpm_manufacture(v);
	while (!rc) {
		rc = swtpm_plug_once(v);
		if (rc != -ECONNREFUSED || ++tries == 5)
			break;
		swtpm_unplug(v);
		rc = 0;
	}
	return rc;
}

/* Power-cycle the TPM: a new swtpm on the same state and proxy file */
static int swtpm_power_cycle(struct swtpm_vtpm *v)
{
	int ret = swtpm_stop(v);

	if (ret)
		return ret;
	v->vtpm.server = swtpm_start(v, v->vtpm.proxy);
	if (v->vtpm.server < 0)
		return -errno;
	/*
	 * The new swtpm loads its state before it reads the next command,
	 * whose time in the driver runs meanwhile
	 */
	tpm2t_sleep_ms(1000);
	return 0;
}

static int startup_clear(int tpm_fd)
{
	struct tpm2t_buf cmd, rsp;

	tpm2t_cmd_init(&cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
	tpm2t_put_u16(&cmd, TPM2_SU_CLEAR);
	return tpm2t_run(tpm_fd, &cmd, &rsp);
}

static bool handle_among(__u32 handle, const struct tpm2t_session *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (s[i].handle == handle)
			return true;
	return false;
}

FIXTURE(reset) {
	struct swtpm_vtpm v;
	int tpm_fd;
	struct tpm2t_census census;
};

FIXTURE_SETUP(reset)
{
	int ret;

	self->v.vtpm.proxy = -1;
	self->tpm_fd = -1;
	if (access(TPM2T_VTPMX_DEV, R_OK | W_OK) || access(SWTPM, X_OK))
		SKIP(return, "%s and %s are needed", TPM2T_VTPMX_DEV, SWTPM);
	ret = swtpm_plug(&self->v);
	ASSERT_EQ(0, ret) TH_LOG("vTPM with swtpm: %s (see %s)",
				 strerror(-ret), self->v.log_path);
	self->tpm_fd = tpm2t_open_wait(self->v.vtpm.tpm_path);
	ASSERT_LE(0, self->tpm_fd) TH_LOG("%s: %s", self->v.vtpm.tpm_path,
					  strerror(-self->tpm_fd));
}

FIXTURE_TEARDOWN(reset)
{
	if (self->tpm_fd >= 0)
		close(self->tpm_fd);
	/* swtpm's copy of the proxy file is the last: it unplugs the chip */
	swtpm_unplug(&self->v);
}

/*
 * Old owners with objects, sessions the RM holds and a client-saved one;
 * reset; a new client's sessions take their handles.
 */
TEST_F_TIMEOUT(reset, reset_then_new_sessions_survive_old_owners, 300)
{
	struct tpm2t_session old_s[OLD_SESSIONS], saved_s, new_s[NEW_SESSIONS];
	struct tpm2t_context saved_blob;
	int old_fd, saver_fd, new_fd, i, res, reused = 0;
	__u32 key, handle;
	struct tpm2t_census *c = &self->census;

	old_fd = tpm2t_open(self->v.vtpm.rm_path);
	ASSERT_LE(0, old_fd);
	saver_fd = tpm2t_open(self->v.vtpm.rm_path);
	ASSERT_LE(0, saver_fd);
	ASSERT_TPM_OK(tpm2t_create_key(old_fd, TPM2_RH_NULL, &key));
	ASSERT_TPM_OK(tpm2t_start_auth_session(old_fd, TPM2_SE_HMAC,
					       &old_s[0]));
	ASSERT_TPM_OK(tpm2t_start_auth_session(old_fd, TPM2_SE_POLICY,
					       &old_s[1]));
	ASSERT_TPM_OK(tpm2t_start_auth_session(old_fd, TPM2_SE_HMAC,
					       &old_s[2]));
	ASSERT_TPM_OK(tpm2t_sign(old_fd, key, tpm2t_digest));
	/* a session the client saved itself, as tpm2-tools' -S s.ctx does */
	ASSERT_TPM_OK(tpm2t_start_auth_session(saver_fd, TPM2_SE_HMAC,
					       &saved_s));
	ASSERT_TPM_OK(tpm2t_context_save(saver_fd, saved_s.handle,
					 &saved_blob));
	ASSERT_ZERO_SLOTS_BESIDE(c, self->tpm_fd, 0, 0);
	ASSERT_EQ(OLD_SESSIONS + 1, c->saved);

	/* the reset: _TPM_Init, then Startup(CLEAR) through /dev/tpmN */
	ASSERT_EQ(0, swtpm_power_cycle(&self->v));
	res = startup_clear(self->tpm_fd);
	ASSERT_EQ(0, res) TH_LOG("Startup(CLEAR): %s%s", tpm2t_strerror(res),
				 res == -ETIME ? " (swtpm too slow)" : "");
	ASSERT_ZERO_SLOTS_BESIDE(c, self->tpm_fd, 0, 0);
	ASSERT_EQ(0, c->saved) TH_LOG("the TPM kept sessions: no reset");

	new_fd = tpm2t_open(self->v.vtpm.rm_path);
	ASSERT_LE(0, new_fd);
	/* the types of the old ones: the TPM hands out the same handles */
	for (i = 0; i < NEW_SESSIONS; i++) {
		ASSERT_TPM_OK(tpm2t_start_auth_session(new_fd, i == 1 ?
						       TPM2_SE_POLICY :
						       TPM2_SE_HMAC,
						       &new_s[i]));
		if (handle_among(new_s[i].handle, old_s, OLD_SESSIONS) ||
		    new_s[i].handle == saved_s.handle)
			reused++;
	}
	/* else the test would not test what it claims to */
	ASSERT_EQ(NEW_SESSIONS, reused)
		TH_LOG("only %d old session handles were given out again",
		       reused);

	/* the old owners act: each gets the documented error */
	res = tpm2t_use_session(old_fd, &old_s[0]);
	EXPECT_EQ(EVICTED_S0, res) TH_LOG("HMAC session: %s",
					  tpm2t_strerror(res));
	res = tpm2t_use_session(old_fd, &old_s[1]);
	EXPECT_EQ(EVICTED_H0, res) TH_LOG("policy session: %s",
					  tpm2t_strerror(res));
	res = tpm2t_sign(old_fd, key, tpm2t_digest);
	EXPECT_EQ(EVICTED_H0, res) TH_LOG("key of the old NULL seed: %s",
					  tpm2t_strerror(res));
	/* of a session it was not told about yet, it succeeds, in the RM */
	res = tpm2t_flush_context(old_fd, old_s[2].handle);
	EXPECT_EQ(0, res) TH_LOG("FlushContext of a stale session: %s",
				 tpm2t_strerror(res));
	res = tpm2t_context_load(saver_fd, &saved_blob, &handle);
	EXPECT_EQ(EVICTED_H0, res) TH_LOG("ContextLoad of a saved blob: %s",
					  tpm2t_strerror(res));
	/* told once: now the handle is somebody else's */
	res = tpm2t_flush_context(saver_fd, saved_s.handle);
	EXPECT_NE(0, res) TH_LOG("FlushContext of a stale saved session");
	ASSERT_ZERO_SLOTS_BESIDE(c, self->tpm_fd, 0, 0);
	close(old_fd);
	close(saver_fd);

	/* nothing of the new client's was flushed for the old owners */
	ASSERT_ZERO_SLOTS_BESIDE(c, self->tpm_fd, 0, 0);
	ASSERT_EQ(NEW_SESSIONS, c->saved);
	for (i = 0; i < NEW_SESSIONS; i++)
		ASSERT_HMAC_WORKS(new_fd, &new_s[i]);
	close(new_fd);
	ASSERT_ZERO_SLOTS_BESIDE(c, self->tpm_fd, 0, 0);
	EXPECT_EQ(0, c->saved) TH_LOG("sessions left after every file closed");
}

/*
 * A FlushContext through /dev/tpmN of a session the RM holds saved; a new
 * client gets its handle; the old owner's use and close leave it alone.
 */
TEST_F_TIMEOUT(reset, outside_flush_then_new_session_survives_old_owner, 120)
{
	struct tpm2t_session old_s, new_s;
	struct tpm2t_census *c = &self->census;
	int old_fd, new_fd, res;

	old_fd = tpm2t_open(self->v.vtpm.rm_path);
	ASSERT_LE(0, old_fd);
	ASSERT_TPM_OK(tpm2t_start_auth_session(old_fd, TPM2_SE_HMAC, &old_s));
	ASSERT_HMAC_WORKS(old_fd, &old_s);
	ASSERT_TPM_OK(tpm2t_flush_context(self->tpm_fd, old_s.handle));

	new_fd = tpm2t_open(self->v.vtpm.rm_path);
	ASSERT_LE(0, new_fd);
	ASSERT_TPM_OK(tpm2t_start_auth_session(new_fd, TPM2_SE_HMAC, &new_s));
	ASSERT_EQ(old_s.handle, new_s.handle)
		TH_LOG("the TPM did not give the handle out again");

	res = tpm2t_use_session(old_fd, &old_s);
	EXPECT_EQ(EVICTED_S0, res) TH_LOG("%s", tpm2t_strerror(res));
	res = tpm2t_flush_context(old_fd, old_s.handle);
	EXPECT_NE(0, res) TH_LOG("the old owner flushed the new session");
	close(old_fd);

	ASSERT_HMAC_WORKS(new_fd, &new_s);
	ASSERT_ZERO_SLOTS_BESIDE(c, self->tpm_fd, 0, 0);
	ASSERT_EQ(1, c->saved);
	close(new_fd);
	ASSERT_ZERO_SLOTS_BESIDE(c, self->tpm_fd, 0, 0);
	EXPECT_EQ(0, c->saved);
}

TEST_HARNESS_MAIN
