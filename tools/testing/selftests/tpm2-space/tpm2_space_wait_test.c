// SPDX-License-Identifier: GPL-2.0-only
/*
 * The wait for a session handle, seen from user space: while a command of
 * a /dev/tpmrmN file waits for the TPM to free a session handle, the file
 * stays usable (poll() answers at once, a second write() is refused with
 * EBUSY, close() returns at once), and unplugging the chip ends the wait.
 *
 * The TPM's session handles are filled with sessions of other files, and
 * tpm.space_session_grace_ms is raised so that none of them may be evicted:
 * a new StartAuthSession then waits the whole tpm.space_session_wait_ms.
 *
 * Needs root, a TPM 2.0 with at most 64 active sessions, the resource
 * manager's module parameters, and /dev/vtpmx for the unplug case.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vtpm_proxy.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

#define RM_DEV		"/dev/tpmrm0"
#define WAIT_MS		8000	/* long enough to tell from "at once" */
#define PROMPT_MS	1500	/* "at once" under TCG on a loaded host */
#define PER_FILE	16	/* tpm.space_max_sessions by default */
#define MAX_FILES	(TPM2T_CENSUS_MAX / PER_FILE)
/* StartAuthSession(HMAC), unsalted and unbound, as raw bytes */
static void build_start_session(struct tpm2t_buf *cmd)
{
	static const __u8 nonce[16] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	tpm2t_cmd_init(cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_START_AUTH_SESSION);
	tpm2t_put_u32(cmd, TPM2_RH_NULL);
	tpm2t_put_u32(cmd, TPM2_RH_NULL);
	tpm2t_put_tpm2b(cmd, nonce, sizeof(nonce));
	tpm2t_put_tpm2b(cmd, NULL, 0);
	tpm2t_put_u8(cmd, TPM2_SE_HMAC);
	tpm2t_put_u16(cmd, TPM2_ALG_NULL);
	tpm2t_put_u16(cmd, TPM2_ALG_SHA256);
	tpm2t_cmd_finish(cmd);
}

/* Files of @path holding every free session handle of the TPM */
struct filler {
	int fd[MAX_FILES];
	int nr;
};

static int fill_handles(const char *path, size_t free_handles,
			struct filler *f)
{
	struct tpm2t_session s;
	size_t i;
	int res;

	f->nr = 0;
	for (i = 0; i < free_handles; i++) {
		if (i % PER_FILE == 0) {
			if (f->nr == MAX_FILES)
				return -ENOSPC;
			f->fd[f->nr] = tpm2t_open(path);
			if (f->fd[f->nr] < 0)
				return f->fd[f->nr];
			f->nr++;
		}
		res = tpm2t_start_auth_session(f->fd[f->nr - 1], TPM2_SE_HMAC,
					       &s);
		if (res)
			return res;
	}
	return 0;
}

static void unfill(struct filler *f)
{
	while (f->nr > 0)
		close(f->fd[--f->nr]);
}

FIXTURE(wait) {
	long grace_ms, wait_ms;		/* to restore */
	__u32 active_max;
	struct tpm2t_census before;
	struct filler fill;
};

FIXTURE_SETUP(wait)
{
	int fd;

	self->fill.nr = 0;
	self->grace_ms = -1;
	if (access(RM_DEV, R_OK | W_OK) || access(TPM2T_TPM_DEV, R_OK | W_OK))
		SKIP(return, "%s and %s are needed", RM_DEV, TPM2T_TPM_DEV);
	if (tpm2t_read_param("space_session_grace_ms", &self->grace_ms) ||
	    tpm2t_read_param("space_session_wait_ms", &self->wait_ms))
		SKIP(return, "the resource manager's parameters are needed");

	fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, fd);
	ASSERT_TPM_OK(tpm2t_get_property(fd, TPM2_PT_ACTIVE_SESSIONS_MAX,
					 &self->active_max));
	close(fd);
	ASSERT_GE(MAX_FILES * PER_FILE, self->active_max);
	ASSERT_ZERO_SLOTS(&self->before);

	/* nobody's session may be evicted: a new one waits it all out */
	ASSERT_EQ(0, tpm2t_write_param("space_session_grace_ms", 600000));
	ASSERT_EQ(0, tpm2t_write_param("space_session_wait_ms", WAIT_MS));
}

FIXTURE_TEARDOWN(wait)
{
	struct tpm2t_census c;

	unfill(&self->fill);
	if (self->grace_ms < 0)
		return;
	tpm2t_write_param("space_session_grace_ms", self->grace_ms);
	tpm2t_write_param("space_session_wait_ms", self->wait_ms);
	ASSERT_ZERO_SLOTS(&c);
	ASSERT_EQ(self->before.saved, c.saved);
}

/*
 * Fills the @free_handles of the real TPM through /dev/tpmrm0 and writes
 * a command with O_NONBLOCK that then waits; returns its file.
 */
static int start_waiter(struct __test_metadata *_metadata,
			size_t free_handles, struct filler *f)
{
	struct tpm2t_buf cmd;
	int fd, res;

	res = fill_handles(RM_DEV, free_handles, f);
	if (res)
		TH_LOG("filling the session handles: %s", tpm2t_strerror(res));
	if (res)
		return -1;
	fd = open(RM_DEV, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return -1;
	build_start_session(&cmd);
	if (write(fd, cmd.data, cmd.len) != (ssize_t)cmd.len) {
		close(fd);
		return -1;
	}
	/* the worker sends it, the TPM refuses, it waits */
	tpm2t_sleep_ms(500);
	return fd;
}

/*
 * poll() on a file whose command waits answers at once, as for any
 * command in flight: no response yet. A second write() is refused.
 */
TEST_F_TIMEOUT(wait, poll_while_waiting, 120)
{
	struct pollfd pfd;
	struct tpm2t_buf cmd;
	long t0, t;
	int fd, n;

	fd = start_waiter(_metadata, self->active_max - self->before.saved,
			  &self->fill);
	ASSERT_LE(0, fd);

	pfd.fd = fd;
	pfd.events = POLLIN | POLLOUT;
	t0 = tpm2t_now_ms();
	n = poll(&pfd, 1, 0);
	t = tpm2t_now_ms() - t0;
	TH_LOG("poll() took %ld ms, revents 0x%x", t, pfd.revents);
	ASSERT_GT(PROMPT_MS, t);
	ASSERT_LE(0, n);
	ASSERT_FALSE(pfd.revents & POLLIN);

	build_start_session(&cmd);
	t0 = tpm2t_now_ms();
	n = write(fd, cmd.data, cmd.len);
	t = tpm2t_now_ms() - t0;
	ASSERT_GT(PROMPT_MS, t);
	ASSERT_EQ(-1, n);
	ASSERT_EQ(EBUSY, errno);

	/* the wait runs out: the TPM's answer, then the file works on */
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, WAIT_MS + 10000));
	n = read(fd, cmd.data, sizeof(cmd.data));
	ASSERT_EQ(TPM2_HEADER_SIZE, n);
	ASSERT_EQ(TPM2_RC_SESSION_HANDLES,
		  (__u32)cmd.data[6] << 24 | cmd.data[7] << 16 |
		  cmd.data[8] << 8 | cmd.data[9]);
	close(fd);
}

/* close() of a file whose command waits does not wait it out */
TEST_F_TIMEOUT(wait, close_while_waiting, 120)
{
	long t0, t;
	int fd;

	fd = start_waiter(_metadata, self->active_max - self->before.saved,
			  &self->fill);
	ASSERT_LE(0, fd);
	t0 = tpm2t_now_ms();
	ASSERT_EQ(0, close(fd));
	t = tpm2t_now_ms() - t0;
	TH_LOG("close() took %ld ms", t);
	ASSERT_GT(PROMPT_MS, t);
}

/*
 * A blocking write() waits on a vTPM whose session handles are full; the
 * vTPM is unplugged: the write() fails at once, and close() returns.
 */
TEST_F_TIMEOUT(wait, unplug_ends_wait, 180)
{
	struct tpm2t_census c;
	struct tpm2t_buf cmd;
	struct tpm2t_vtpm v;
	pid_t waiter;
	int fd, status, i, res;
	long t0, t;

	if (access(TPM2T_VTPMX_DEV, R_OK | W_OK))
		SKIP(return, "%s is needed (CONFIG_TCG_VTPM_PROXY)",
		     TPM2T_VTPMX_DEV);
	ASSERT_EQ(0, tpm2t_vtpm_plug(&v));

	res = fill_handles(v.rm_path, self->active_max - self->before.saved,
			   &self->fill);
	ASSERT_TPM_OK(res);

	waiter = fork();
	ASSERT_LE(0, waiter);
	if (!waiter) {
		/* the proxy must close when the test closes it */
		close(v.proxy);
		fd = tpm2t_open(v.rm_path);
		build_start_session(&cmd);
		/* fails once the chip is gone */
		_exit(fd >= 0 && write(fd, cmd.data, cmd.len) < 0 ? 0 : 1);
	}
	tpm2t_sleep_ms(1000);
	ASSERT_EQ(0, waitpid(waiter, &status, WNOHANG))
		TH_LOG("the command did not wait");

	t0 = tpm2t_now_ms();
	ASSERT_EQ(0, kill(v.server, SIGKILL));
	ASSERT_EQ(v.server, waitpid(v.server, &status, 0));
	close(v.proxy);
	ASSERT_EQ(waiter, waitpid(waiter, &status, 0));
	t = tpm2t_now_ms() - t0;
	TH_LOG("the waiting write() ended %ld ms after the unplug", t);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_GT(PROMPT_MS, t);

	t0 = tpm2t_now_ms();
	unfill(&self->fill);
	t = tpm2t_now_ms() - t0;
	ASSERT_GT(PROMPT_MS, t);
	ASSERT_TRUE(tpm2t_wait_path(v.rm_path, false));

	/* the vTPM's sessions stay in the real TPM: drop them */
	ASSERT_ZERO_SLOTS(&c);
	fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, fd);
	for (i = 0; i < (int)c.saved; i++) {
		if (tpm2t_census_saved(&self->before, c.saved_h[i]))
			continue;
		/* swtpm lists them all as 0x02: try both types */
		if (tpm2t_flush_context(fd, c.saved_h[i]))
			tpm2t_flush_context(fd, (c.saved_h[i] & ~TPM2_HT_MASK) |
					   TPM2_HT_POLICY_SESSION);
	}
	close(fd);
}

TEST_HARNESS_MAIN
