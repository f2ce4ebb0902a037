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
#include <sys/prctl.h>
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
	/* the sessions they hold; session i belongs to fd[i / PER_FILE] */
	struct tpm2t_session s[MAX_FILES * PER_FILE];
	size_t nr_sessions;
};

static int fill_handles(const char *path, size_t free_handles,
			struct filler *f)
{
	size_t i;
	int res;

	f->nr = 0;
	f->nr_sessions = 0;
	for (i = 0; i < free_handles; i++) {
		if (i % PER_FILE == 0) {
			if (f->nr == MAX_FILES)
				return -ENOSPC;
			f->fd[f->nr] = tpm2t_open(path);
			if (f->fd[f->nr] < 0)
				return f->fd[f->nr];
			f->nr++;
		}
		res = tpm2t_start_auth_session(f->fd[f->nr - 1],
					       TPM2_SE_HMAC, &f->s[i]);
		if (res)
			return res;
		f->nr_sessions++;
	}
	return 0;
}

/* The file that holds session @i of @f */
static int filler_fd(const struct filler *f, size_t i)
{
	return f->fd[i / PER_FILE];
}

static void unfill(struct filler *f)
{
	while (f->nr > 0)
		close(f->fd[--f->nr]);
}

#define MAX_KIDS	8

/* Children that write and wait; those left are killed at the end */
struct kids {
	pid_t pid[MAX_KIDS];
	int nr;
};

static void kill_kids(struct kids *k)
{
	int status;

	while (k->nr > 0) {
		pid_t pid = k->pid[--k->nr];

		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
}

FIXTURE(wait) {
	long grace_ms, wait_ms;		/* to restore */
	__u32 active_max;
	struct tpm2t_census before;
	struct filler fill;
	struct kids kids;
};

FIXTURE_SETUP(wait)
{
	int fd;

	self->fill.nr = 0;
	self->kids.nr = 0;
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

	kill_kids(&self->kids);
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

/* Polls the counter @name of the resource manager until it exceeds @old */
static bool counter_grows(const char *name, long old, long timeout_ms)
{
	long t0 = tpm2t_now_ms(), v;

	do {
		if (!tpm2t_read_rm_counter(name, &v) && v > old)
			return true;
		tpm2t_sleep_ms(20);
	} while (tpm2t_now_ms() - t0 < timeout_ms);
	return false;
}

static void on_signal(int sig)
{
}

/* What a signalled writer saw, in memory shared with the test */
struct signalled {
	long returned_ms;	/* when write() returned */
	ssize_t n;		/* what it returned */
	int err;		/* errno */
	int after;		/* a GetRandom on the same file afterwards */
};

/*
 * A child writes StartAuthSession with a blocking write(), which waits
 * for a session handle; SIGUSR1 (no SA_RESTART) ends it.  Returns the
 * child once the resource manager has lined its command up.
 */
static pid_t start_signalled(struct signalled *out)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct tpm2t_buf cmd;
	__u8 rnd[8];
	__u16 got;
	pid_t pid;
	int fd;

	pid = fork();
	if (pid)
		return pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		_exit(1);
	fd = tpm2t_open(RM_DEV);
	if (fd < 0)
		_exit(1);
	build_start_session(&cmd);
	out->n = write(fd, cmd.data, cmd.len);
	out->err = errno;
	out->returned_ms = tpm2t_now_ms();
	/* the file goes on as if the command had never been written */
	out->after = tpm2t_get_random(fd, rnd, sizeof(rnd), &got);
	_exit(0);
}

/*
 * Signals @pid while its write() waits, and checks that the write()
 * ended at once with EINTR, nobody's session was evicted and every
 * session of the fillers still works.
 */
static void signal_waiter(struct __test_metadata *_metadata,
			  struct kids *kids, struct filler *fill,
			  struct signalled *out, long evicted)
{
	pid_t pid = kids->pid[kids->nr - 1];
	long t0, now_evicted;
	size_t i;
	int status;

	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG))
		TH_LOG("the command did not wait");
	t0 = tpm2t_now_ms();
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	kids->nr--;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	TH_LOG("write() returned %zd (%s) %ld ms after the signal",
	       out->n, strerror(out->err), out->returned_ms - t0);
	ASSERT_EQ(-1, out->n);
	ASSERT_EQ(EINTR, out->err);
	ASSERT_GT(PROMPT_MS, out->returned_ms - t0);
	ASSERT_TPM_OK(out->after);

	ASSERT_EQ(0, tpm2t_read_rm_counter("sessions_evicted", &now_evicted));
	ASSERT_EQ(evicted, now_evicted)
		TH_LOG("the signalled command evicted a session");
	for (i = 0; i < fill->nr_sessions; i++)
		ASSERT_HMAC_WORKS(filler_fd(fill, i), &fill->s[i]);
}

/*
 * Fill every session handle, then start a child whose StartAuthSession
 * waits for one, with a SIGUSR1 handler that does not restart write().
 * *@evicted is the eviction count before.
 */
static void start_wait_signalled(struct __test_metadata *_metadata,
				 struct filler *fill, size_t free_handles,
				 struct kids *kids, struct signalled *out,
				 long *evicted)
{
	long waits;

	ASSERT_NE(NULL, out);
	ASSERT_TPM_OK(fill_handles(RM_DEV, free_handles, fill));
	ASSERT_EQ(0, tpm2t_read_rm_counter("sessions_evicted", evicted));
	ASSERT_EQ(0, tpm2t_read_rm_counter("session_waits", &waits));
	kids->pid[kids->nr] = start_signalled(out);
	ASSERT_LT(0, kids->pid[kids->nr]);
	kids->nr++;
	ASSERT_TRUE(counter_grows("session_waits", waits, 10000));
}

/*
 * A signal ends the wait at once: write() fails with EINTR, the command
 * did not run, and the file works on.  Before the fix the command was
 * sent again after the signal and write() gave the TPM's 0x905.
 */
TEST_F_TIMEOUT(wait, signal_ends_wait, 180)
{
	struct signalled *out = tpm2t_shared_alloc(sizeof(*out));
	long evicted;

	start_wait_signalled(_metadata, &self->fill,
			     self->active_max - self->before.saved,
			     &self->kids, out, &evicted);
	tpm2t_sleep_ms(300);
	signal_waiter(_metadata, &self->kids, &self->fill, out, evicted);
}

/*
 * The signal comes when the sessions of the others have become
 * evictable: the signalled command still evicts none of them.  Before
 * the fix it was sent again, and evict_for() ran before the signal was
 * looked at.
 */
TEST_F_TIMEOUT(wait, signal_evicts_nobody, 180)
{
	struct signalled *out = tpm2t_shared_alloc(sizeof(*out));
	long evicted;

	start_wait_signalled(_metadata, &self->fill,
			     self->active_max - self->before.saved,
			     &self->kids, out, &evicted);

	/* it sleeps until its deadline: nobody tells it of the change */
	ASSERT_EQ(0, tpm2t_write_param("space_session_grace_ms", 0));
	tpm2t_sleep_ms(300);
	signal_waiter(_metadata, &self->kids, &self->fill, out, evicted);
}

#define HERD		4

/* The writers of the herd, in memory shared with the test */
struct herd {
	int done;		/* writers finished so far */
	int order[HERD];	/* place in which each finished, from 1 */
	int rc[HERD];
};

/*
 * Writer @i: a blocking StartAuthSession, then it records its place and
 * holds the session until it is killed, so that no handle comes back.
 */
static void herd_writer(struct herd *h, int i)
{
	struct tpm2t_session s;
	int fd;

	/* gone with the test, even if it ends without its teardown */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = tpm2t_open(RM_DEV);
	h->rc[i] = fd < 0 ? fd : tpm2t_start_auth_session(fd, TPM2_SE_HMAC,
							  &s);
	h->order[i] = __atomic_add_fetch(&h->done, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
}

static int herd_done(struct herd *h)
{
	return __atomic_load_n(&h->done, __ATOMIC_SEQ_CST);
}

/*
 * Each handle given back goes to the first of the waiting commands, in
 * the order they came, and wakes that one only.  Per freed handle the
 * TPM sees two user commands, the FlushContext and the woken command run
 * again, and no waiter lines up again for having been woken for nothing.
 * Waking them all would cost one run and one new wait per waiter.
 */
TEST_F_TIMEOUT(wait, freed_handle_wakes_head_only, 300)
{
	struct herd *h = tpm2t_shared_alloc(sizeof(*h));
	long waits, waits0, cmds0, cmds, t0;
	size_t victim;
	int i;

	ASSERT_NE(NULL, h);
	/* no writer may time out while the handles are freed one by one */
	ASSERT_EQ(0, tpm2t_write_param("space_session_wait_ms", 120000));
	ASSERT_TPM_OK(fill_handles(RM_DEV,
				   self->active_max - self->before.saved,
				   &self->fill));
	for (i = 0; i < HERD; i++) {
		ASSERT_EQ(0, tpm2t_read_rm_counter("session_waits", &waits));
		self->kids.pid[self->kids.nr] = fork();
		ASSERT_LE(0, self->kids.pid[self->kids.nr]);
		if (!self->kids.pid[self->kids.nr])
			herd_writer(h, i);
		self->kids.nr++;
		/* lined up before the next one comes */
		ASSERT_TRUE(counter_grows("session_waits", waits, 10000))
			TH_LOG("writer %d did not wait", i);
		tpm2t_sleep_ms(100);
	}
	tpm2t_sleep_ms(300);
	ASSERT_EQ(0, herd_done(h));
	ASSERT_EQ(0, tpm2t_read_rm_counter("session_waits", &waits0));
	ASSERT_EQ(0, tpm2t_read_rm_counter("user_commands", &cmds0));

	for (i = 0; i < HERD; i++) {
		victim = self->fill.nr_sessions - 1 - i;
		ASSERT_TPM_OK(tpm2t_flush_context(filler_fd(&self->fill,
							    victim),
						  self->fill.s[victim].handle));
		t0 = tpm2t_now_ms();
		while (herd_done(h) < i + 1 && tpm2t_now_ms() - t0 < 20000)
			tpm2t_sleep_ms(20);
		/* a second writer would finish now if it had been woken */
		tpm2t_sleep_ms(500);
		ASSERT_EQ(i + 1, herd_done(h))
			TH_LOG("handle %d freed: %d writers done", i,
			       herd_done(h));
		ASSERT_EQ(i + 1, h->order[i])
			TH_LOG("writer %d finished in place %d", i,
			       h->order[i]);
		ASSERT_TPM_OK(h->rc[i]);
	}
	ASSERT_EQ(0, tpm2t_read_rm_counter("session_waits", &waits));
	ASSERT_EQ(0, tpm2t_read_rm_counter("user_commands", &cmds));
	TH_LOG("%d freed handles: %ld user commands, %ld new waits", HERD,
	       cmds - cmds0, waits - waits0);
	ASSERT_EQ(2 * HERD, cmds - cmds0);
	ASSERT_EQ(0, waits - waits0);
	self->fill.nr_sessions -= HERD;
}

TEST_HARNESS_MAIN
