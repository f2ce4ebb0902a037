// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TPM's resource limits behind /dev/tpmrm0: a client must never see
 * TPM_RC_SESSION_HANDLES (0x905), TPM_RC_SESSION_MEMORY (0x903) or
 * TPM_RC_CONTEXT_GAP (0x901) because of what other clients hold, and
 * slots held outside the resource manager (tboot, /dev/tpm0) give a clear
 * error from the resource manager's layer instead of lost state.
 *
 * The resource manager evicts saved sessions that have been idle for
 * tpm.space_session_grace_ms, and tells their owner with
 * TPM_RC_REFERENCE_H0 + i (handle area) or TPM_RC_REFERENCE_S0 + i
 * (authorization area) in layer 11 on the next use. See
 * Documentation/security/tpm/tpm-space.rst.
 *
 * Needs root, a TPM 2.0 with ACTIVE_SESSIONS_MAX 64 and three slots for
 * objects and sessions (swtpm), /dev/tpm0 and /dev/tpmrm0, and no other
 * user of the TPM (the QEMU + swtpm guest of tools/testing/tpm2-qemu).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "tpm2_util.h"

/* Room for every session the TPM may have, with the census's margin */
#define MAX_ACTIVE	(TPM2T_CENSUS_MAX / 2)

/* What the owner of an evicted session gets when it names it */
#define EVICTED_H0	TPM2T_RM_RC(TPM2_RC_REFERENCE_H0)
#define EVICTED_S0	TPM2T_RM_RC(TPM2_RC_REFERENCE_S0)

/* The resource manager's defaults, used where the parameters are absent */
#define GRACE_MS	2000
#define WAIT_MS		5000
/* Enough for a hog that holds every session of the TPM */
#define HOG_MAX_SESSIONS 80

/* The defined error for an evicted session, by where @s is named */
static int evicted_rc(const struct tpm2t_session *s)
{
	return s->type == TPM2_SE_POLICY ? EVICTED_H0 : EVICTED_S0;
}

/* @res is the response code @rc, in any layer */
static bool rc_is(int res, __u32 rc)
{
	return res > 0 && (res & ~TPM2_RC_LAYER_MASK) == rc;
}

static bool is_exhaustion(int res)
{
	return rc_is(res, TPM2_RC_SESSION_HANDLES) ||
	       rc_is(res, TPM2_RC_SESSION_MEMORY);
}

/* A counter of space_stats, or -1 where there is none (upstream) */
static long counter(const char *name)
{
	long v;

	return tpm2t_read_rm_counter(name, &v) ? -1 : v;
}

static long param_or(const char *name, long def)
{
	long v;

	return tpm2t_read_param(name, &v) ? def : v;
}

/* An outside holder of TPM slots, through /dev/tpm0 */
struct holder {
	int fd;			/* the test process's file */
	__u32 held[8];
	int nr;
};

FIXTURE(exhaust) {
	long grace_ms, wait_ms;
	long max_sessions;	/* to restore, or -1 */
	__u32 active_max;	/* the TPM's ACTIVE_SESSIONS_MAX */
	struct tpm2t_census before, now;
	struct holder out;	/* flushed on teardown */
};

FIXTURE_SETUP(exhaust)
{
	int fd;

	self->max_sessions = -1;
	self->out.fd = -1;
	self->out.nr = 0;
	if (!tpm2t_devices_usable())
		SKIP(return, TPM2T_DEVICES_NEEDED);

	self->grace_ms = param_or("space_session_grace_ms", GRACE_MS);
	self->wait_ms = param_or("space_session_wait_ms", WAIT_MS);

	fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, fd)
		TH_LOG("open %s: %s", TPM2T_TPM_DEV, strerror(-fd));
	ASSERT_TPM_OK(tpm2t_get_property(fd, TPM2_PT_ACTIVE_SESSIONS_MAX,
					 &self->active_max));
	close(fd);
	ASSERT_LE(16, self->active_max);
	ASSERT_GE(MAX_ACTIVE, self->active_max);

	ASSERT_ZERO_SLOTS(&self->before);
	if (self->before.saved)
		TH_LOG("%zu sessions already active in the TPM",
		       self->before.saved);
}

/*
 * In the parent, after the test's process is gone: also after a failed
 * assertion or a timeout. The test's /dev/tpm0 file is closed by then, but
 * what it loaded stays loaded until flushed.
 */
FIXTURE_TEARDOWN_PARENT(exhaust)
{
	int fd, i, res;

	if (self->max_sessions >= 0)
		tpm2t_write_param("space_max_sessions", self->max_sessions);
	if (!self->out.nr)
		return;
	fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	if (fd < 0) {
		TH_LOG("teardown: open %s: %s", TPM2T_TPM_DEV, strerror(-fd));
		return;
	}
	for (i = 0; i < self->out.nr; i++) {
		res = tpm2t_flush_context(fd, self->out.held[i]);
		if (res)
			TH_LOG("teardown: flush of 0x%08x: %s",
			       self->out.held[i], tpm2t_strerror(res));
	}
	close(fd);
}

/* Let one file hold every session of the TPM; upstream has no such knob */
/* @saved: where to keep the old value for the teardown */
static void raise_max_sessions(struct __test_metadata *_metadata, long *saved)
{
	long old;

	if (tpm2t_read_param("space_max_sessions", &old)) {
		TH_LOG("no space_max_sessions: a file keeps its default limit");
		return;
	}
	if (old >= HOG_MAX_SESSIONS)
		return;
	*saved = old;
	ASSERT_EQ(0, tpm2t_write_param("space_max_sessions",
				       HOG_MAX_SESSIONS));
}

/*
 * Start @nr HMAC sessions into @s[]: all in the file @fd, or, with @fd
 * -1, each in a file of its own, opened into @fds[].
 */
static void start_sessions(struct __test_metadata *_metadata, int fd,
			   int *fds, struct tpm2t_session *s, int nr,
			   const char *who)
{
	int i, res;

	for (i = 0; i < nr; i++) {
		if (fds) {
			fds[i] = tpm2t_open(TPM2T_RM_DEV);
			ASSERT_LE(0, fds[i]);
			fd = fds[i];
		}
		res = tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s[i]);
		ASSERT_EQ(0, res)
			TH_LOG("%s's session %d: %s", who, i,
			       tpm2t_strerror(res));
	}
}

/* What the owners of idle sessions find when they use them again */
struct uses {
	int alive;	/* the session works */
	int evicted;	/* the owner is told, with the defined error */
	int other;	/* anything else: a failure */
};

/* Use @s through @fd and count the outcome; true if it was evicted */
static bool count_use(struct __test_metadata *_metadata, struct uses *u,
		      int fd, struct tpm2t_session *s, const char *who, int i)
{
	int res = tpm2t_use_session(fd, s);

	if (!res) {
		u->alive++;
		return false;
	}
	if (res == evicted_rc(s)) {
		u->evicted++;
		return true;
	}
	u->other++;
	TH_LOG("%s %d: use: %s", who, i, tpm2t_strerror(res));
	return false;
}

/* Steps of many clients that must all succeed */
struct failures {
	int nr;		/* steps that failed */
	int n905;	/* of them with TPM_RC_SESSION_HANDLES */
	int first;	/* the client of the first failure, or -1 */
	int first_res;
};

static void count_failure(struct failures *f, int i, int res)
{
	f->nr++;
	f->n905 += rc_is(res, TPM2_RC_SESSION_HANDLES);
	if (f->first < 0) {
		f->first = i;
		f->first_res = res;
	}
}

#define NR_DAEMONS	60
#define NR_CLIENTS	200
#define NR_WORKERS	10
#define NR_USES		10

struct client_result {
	int res;	/* 0, or the failure (tpm2_util.h convention) */
	int step;	/* 0 open, 1 start, 2.. uses, 2 + NR_USES flush */
	int done;
};

static void run_client(struct client_result *r)
{
	struct tpm2t_session s;
	int fd, i;

	r->step = 0;
	fd = tpm2t_open(TPM2T_RM_DEV);
	if (fd < 0) {
		r->res = fd;
		return;
	}
	r->step = 1;
	r->res = tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s);
	for (i = 0; !r->res && i < NR_USES; i++) {
		r->step = 2 + i;
		r->res = tpm2t_use_session(fd, &s);
	}
	if (!r->res) {
		r->step = 2 + NR_USES;
		r->res = tpm2t_flush_context(fd, s.handle);
	}
	close(fd);
	r->done = 1;
}

/*
 * 60 long-lived daemons each hold an idle session older than the grace
 * period; then 200 short clients, 10 at a time, each start a session, use
 * it 10 times and flush it. They all succeed: the daemons' idle sessions
 * make room. A daemon whose session was evicted is told so, with the
 * defined error, when it next uses it.
 */
TEST_F_TIMEOUT(exhaust, idle_daemons_and_200_clients, 300)
{
	struct tpm2t_session ds[NR_DAEMONS];
	struct failures f = { .first = -1 };
	int dfd[NR_DAEMONS], status, i, w;
	struct uses u = { 0 };
	struct client_result *r;
	int lost = 0;
	long ev0, ev1, t0;
	pid_t pid[NR_WORKERS];

	start_sessions(_metadata, -1, dfd, ds, NR_DAEMONS, "daemon");
	ASSERT_ZERO_SLOTS(&self->now);
	tpm2t_sleep_ms(self->grace_ms + 500);
	ev0 = counter("sessions_evicted");

	r = tpm2t_shared_alloc(NR_CLIENTS * sizeof(*r));
	ASSERT_NE(NULL, r);
	t0 = tpm2t_now_ms();
	for (w = 0; w < NR_WORKERS; w++) {
		pid[w] = fork();
		ASSERT_LE(0, pid[w]);
		if (!pid[w]) {
			/* a bound of its own, should the RM hang a client */
			alarm(200);
			for (i = w; i < NR_CLIENTS; i += NR_WORKERS)
				run_client(&r[i]);
			_exit(0);
		}
	}
	for (w = 0; w < NR_WORKERS; w++) {
		if (waitpid(pid[w], &status, 0) != pid[w] ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			lost++;
	}
	for (i = 0; i < NR_CLIENTS; i++)
		if (!r[i].done || r[i].res)
			count_failure(&f, i, r[i].res);
	TH_LOG("%d clients in %ld ms: %d failed, %d of them with 0x905",
	       NR_CLIENTS, tpm2t_now_ms() - t0, f.nr, f.n905);
	if (f.first >= 0)
		TH_LOG("first failure: client %d at step %d: %s%s", f.first,
		       r[f.first].step, tpm2t_strerror(f.first_res),
		       r[f.first].done ? "" : " (did not finish)");
	ASSERT_ZERO_SLOTS(&self->now);

	for (i = 0; i < NR_DAEMONS; i++)
		count_use(_metadata, &u, dfd[i], &ds[i], "daemon", i);
	ev1 = counter("sessions_evicted");
	TH_LOG("daemons: %d sessions alive, %d evicted and told, %d other errors",
	       u.alive, u.evicted, u.other);
	TH_LOG("sessions_evicted %ld -> %ld", ev0, ev1);
	ASSERT_ZERO_SLOTS(&self->now);

	ASSERT_EQ(0, lost);
	ASSERT_EQ(0, f.nr);
	ASSERT_EQ(0, u.other);
	/* 60 + up to 10 sessions do not fit into 64 */
	ASSERT_LE(1, u.evicted);
	ASSERT_EQ(NR_DAEMONS, u.alive + u.evicted);
	if (ev0 >= 0 && ev1 >= 0)
		ASSERT_EQ(u.evicted, ev1 - ev0);

	/* a told daemon starts again */
	for (i = 0; i < NR_DAEMONS; i++)
		close(dfd[i]);
	munmap(r, NR_CLIENTS * sizeof(*r));
	ASSERT_NO_LEAK(&self->now, &self->before);
}

#define NR_FILES	200
#define NR_RESTART	10

/*
 * 200 files each start a session, one after another, and keep it. Every
 * StartAuthSession succeeds, waiting at most space_session_wait_ms for a
 * session to age past the grace period. Those whose session was evicted
 * get the defined error when they name it, or success when they flush it,
 * and never reach another file's session that got the same handle.
 */
TEST_F_TIMEOUT(exhaust, two_hundred_files, 300)
{
	struct failures f = { .first = -1 };
	int fd[NR_FILES], res, i, restarted = 0;
	int flush_failed = 0, flushed_bad = 0;
	struct tpm2t_session s[NR_FILES];
	struct uses u = { 0 };
	long t, wait, max_wait = 0, ev0, ev1;
	bool told[NR_FILES];

	ev0 = counter("sessions_evicted");
	for (i = 0; i < NR_FILES; i++) {
		fd[i] = tpm2t_open(TPM2T_RM_DEV);
		ASSERT_LE(0, fd[i]);
		told[i] = false;
		t = tpm2t_now_ms();
		res = tpm2t_start_auth_session(fd[i], i % 2 ? TPM2_SE_POLICY :
					       TPM2_SE_HMAC, &s[i]);
		wait = tpm2t_now_ms() - t;
		if (wait > max_wait)
			max_wait = wait;
		if (res) {
			s[i].handle = 0;
			count_failure(&f, i, res);
		}
	}
	TH_LOG("%d StartAuthSession: %d failed (%d with 0x905), longest took %ld ms",
	       NR_FILES, f.nr, f.n905, max_wait);
	if (f.first >= 0)
		TH_LOG("first failure: file %d (the %dth session): %s", f.first,
		       f.first + 1, tpm2t_strerror(f.first_res));
	ASSERT_ZERO_SLOTS(&self->now);

	/*
	 * Every 4th file flushes its session without using it first: that
	 * succeeds, evicted or not, and then the handle is no longer its.
	 * The others use theirs.
	 */
	for (i = 0; i < NR_FILES; i++) {
		if (!s[i].handle)
			continue;
		if (i % 4 == 0) {
			res = tpm2t_flush_context(fd[i], s[i].handle);
			if (res) {
				flush_failed++;
				TH_LOG("file %d: flush: %s", i,
				       tpm2t_strerror(res));
				continue;
			}
			res = tpm2t_use_session(fd[i], &s[i]);
			if (!res || is_exhaustion(res)) {
				flushed_bad++;
				TH_LOG("file %d: use after flush: %s", i,
				       tpm2t_strerror(res));
			}
			continue;
		}
		told[i] = count_use(_metadata, &u, fd[i], &s[i], "file", i);
	}
	ev1 = counter("sessions_evicted");
	TH_LOG("used: %d alive, %d evicted and told, %d other errors",
	       u.alive, u.evicted, u.other);
	TH_LOG("flushed: %d failed, %d misused after; sessions_evicted %ld -> %ld",
	       flush_failed, flushed_bad, ev0, ev1);
	ASSERT_ZERO_SLOTS(&self->now);

	ASSERT_EQ(0, f.nr);
	ASSERT_GE(self->wait_ms + 1000, max_wait);
	ASSERT_EQ(0, u.other);
	ASSERT_EQ(0, flush_failed);
	ASSERT_EQ(0, flushed_bad);
	/* 3/4 of the 200 - 64 evicted ones were used, give or take */
	ASSERT_LE(NR_FILES / 4, u.evicted);
	if (ev0 >= 0 && ev1 >= 0)
		ASSERT_LE((long)(NR_FILES - self->active_max +
				 self->before.saved), ev1 - ev0);

	/* told files start a new session, use it and flush it */
	for (i = 0; i < NR_FILES && restarted < NR_RESTART; i++) {
		struct tpm2t_session n;

		if (!told[i])
			continue;
		t = tpm2t_now_ms();
		res = tpm2t_start_auth_session(fd[i], TPM2_SE_HMAC, &n);
		ASSERT_EQ(0, res)
			TH_LOG("file %d: new session: %s", i,
			       tpm2t_strerror(res));
		ASSERT_GE(self->wait_ms + 1000, tpm2t_now_ms() - t);
		ASSERT_TPM_OK(tpm2t_use_session(fd[i], &n));
		ASSERT_TPM_OK(tpm2t_use_session(fd[i], &n));
		ASSERT_TPM_OK(tpm2t_flush_context(fd[i], n.handle));
		restarted++;
	}
	ASSERT_EQ(NR_RESTART, restarted);
	ASSERT_ZERO_SLOTS(&self->now);

	for (i = 0; i < NR_FILES; i++)
		close(fd[i]);
	ASSERT_NO_LEAK(&self->now, &self->before);
}

#define NR_IDLE_FILES	256
/* What an idle file may cost the kernel beyond the contexts it holds */
#define IDLE_FILE_MAX_BYTES	1024

/* The kernel's slab memory in bytes (/proc/meminfo), or -1 */
static long slab_bytes(void)
{
	char line[128];
	long kib = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib * 1024;
}

/* Whether the kernel has the text symbol @name (/proc/kallsyms) */
static bool kernel_has_symbol(const char *name)
{
	char line[256], sym[128];
	bool found = false;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %127s", sym) == 1 &&
			!strcmp(sym, name);
	fclose(f);
	return found;
}

/*
 * 256 files, each done with a command (GetRandom, its response read),
 * hold nothing in the TPM: what they cost the kernel is their open file
 * and the resource manager's record of an empty space, at most 1 KiB a
 * file in all (struct file, the file's private data, its share of the
 * file table), measured as the growth of the kernel's slab memory.
 *
 * Not with KASAN: its quarantine keeps freed objects in slab memory for
 * a while, the command buffers of the 256 GetRandoms among them (8 KiB
 * a file measured on the debug kernel): the growth is not what the files
 * hold there. kmemleak looks for leaks on that kernel instead.
 */
TEST_F(exhaust, idle_file_memory)
{
	int fd[NR_IDLE_FILES], i;
	long before, after, per_file;
	__u8 buf[8];
	__u16 got;

	if (kernel_has_symbol("kasan_quarantine_reduce"))
		SKIP(return, "KASAN's quarantine holds freed objects in slab");
	before = slab_bytes();
	ASSERT_LE(0, before);
	ASSERT_TPM_OK(tpm2t_open_files(fd, NR_IDLE_FILES));
	for (i = 0; i < NR_IDLE_FILES; i++)
		ASSERT_TPM_OK(tpm2t_get_random(fd[i], buf, sizeof(buf), &got));
	after = slab_bytes();
	tpm2t_close_files(fd, NR_IDLE_FILES);
	per_file = (after - before) / NR_IDLE_FILES;
	TH_LOG("%d idle files: %ld bytes of slab each", NR_IDLE_FILES,
	       per_file);
	ASSERT_GE(IDLE_FILE_MAX_BYTES, per_file);
	ASSERT_NO_LEAK(&self->now, &self->before);
}

/*
 * One file holds every session the TPM can have. A newcomer's
 * StartAuthSession waits until the hog's oldest session is idle for the
 * grace period, then succeeds; the hog is told about exactly that
 * session, and its use of the handle number, which the TPM may well have
 * given to the newcomer, does not touch the newcomer's session.
 */
TEST_F_TIMEOUT(exhaust, hog_and_newcomer, 120)
{
	struct tpm2t_session hog[MAX_ACTIVE], nc;
	int h, nfd, nr, res, i, alive = 0, evicted = 0, victim = -1;
	long t0, t1, t2;

	raise_max_sessions(_metadata, &self->max_sessions);
	nr = self->active_max - self->before.saved;
	h = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, h);
	t0 = tpm2t_now_ms();
	start_sessions(_metadata, h, NULL, hog, nr, "hog");
	ASSERT_ZERO_SLOTS(&self->now);

	nfd = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, nfd);
	t1 = tpm2t_now_ms();
	res = tpm2t_start_auth_session(nfd, TPM2_SE_HMAC, &nc);
	t2 = tpm2t_now_ms();
	TH_LOG("newcomer: %s after %ld ms, %ld ms after the hog's first session",
	       tpm2t_strerror(res), t2 - t1, t2 - t0);
	ASSERT_EQ(0, res);
	/* nothing was evicted before its grace period */
	ASSERT_LE(self->grace_ms - 20, t2 - t0);
	ASSERT_GE(self->wait_ms + 1000, t2 - t1);
	ASSERT_TPM_OK(tpm2t_use_session(nfd, &nc));
	ASSERT_ZERO_SLOTS(&self->now);

	for (i = 0; i < nr; i++) {
		res = tpm2t_use_session(h, &hog[i]);
		if (!res) {
			alive++;
		} else {
			ASSERT_EQ(EVICTED_S0, res)
				TH_LOG("hog's session %d (0x%08x): %s", i,
				       hog[i].handle, tpm2t_strerror(res));
			evicted++;
			victim = i;
		}
	}
	TH_LOG("hog: %d alive, %d evicted (session %d, 0x%08x; the newcomer has 0x%08x)",
	       alive, evicted, victim, victim >= 0 ? hog[victim].handle : 0,
	       nc.handle);
	ASSERT_EQ(1, evicted);
	/* the least recently used one */
	ASSERT_EQ(0, victim);
	ASSERT_ZERO_SLOTS(&self->now);

	/* the newcomer's session is untouched, whatever its number */
	ASSERT_TPM_OK(tpm2t_use_session(nfd, &nc));
	/* the hog's handle is no longer its own: not even flush reaches it */
	res = tpm2t_flush_context(h, hog[victim].handle);
	TH_LOG("hog's flush of its told handle: %s", tpm2t_strerror(res));
	ASSERT_TPM_OK(tpm2t_use_session(nfd, &nc));
	ASSERT_TPM_OK(tpm2t_flush_context(nfd, nc.handle));
	close(nfd);
	close(h);
	ASSERT_NO_LEAK(&self->now, &self->before);
}

#define NR_ORDINARY	10
#define NR_NEW		8

/*
 * Fairness: ten ordinary clients with one or two sessions each, then a
 * hog with the rest of the TPM's sessions, all idle past the grace
 * period. A newcomer's sessions evict the hog's, though the ordinary
 * clients' sessions are older.
 */
TEST_F_TIMEOUT(exhaust, fairness, 120)
{
	struct tpm2t_session os[NR_ORDINARY][2], hog[MAX_ACTIVE];
	struct tpm2t_session ns[NR_NEW];
	int ofd[NR_ORDINARY], h, nfd, res, i, j;
	int nord = 0, nhog, hog_evicted = 0, ord_lost = 0;
	long t;

	raise_max_sessions(_metadata, &self->max_sessions);
	for (i = 0; i < NR_ORDINARY; i++) {
		ofd[i] = tpm2t_open(TPM2T_RM_DEV);
		ASSERT_LE(0, ofd[i]);
		for (j = 0; j < 1 + i % 2; j++) {
			ASSERT_TPM_OK(tpm2t_start_auth_session(ofd[i],
							       TPM2_SE_HMAC,
							       &os[i][j]));
			nord++;
		}
	}
	h = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, h);
	nhog = self->active_max - self->before.saved - nord;
	start_sessions(_metadata, h, NULL, hog, nhog, "hog");
	ASSERT_ZERO_SLOTS(&self->now);
	tpm2t_sleep_ms(self->grace_ms + 300);

	nfd = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, nfd);
	for (i = 0; i < NR_NEW; i++) {
		t = tpm2t_now_ms();
		res = tpm2t_start_auth_session(nfd, TPM2_SE_HMAC, &ns[i]);
		ASSERT_EQ(0, res)
			TH_LOG("newcomer's session %d: %s", i,
			       tpm2t_strerror(res));
		/* idle sessions were there: no need to wait */
		ASSERT_GE(1000, tpm2t_now_ms() - t);
	}
	ASSERT_ZERO_SLOTS(&self->now);

	for (i = 0; i < NR_ORDINARY; i++) {
		for (j = 0; j < 1 + i % 2; j++) {
			res = tpm2t_use_session(ofd[i], &os[i][j]);
			if (res) {
				ord_lost++;
				TH_LOG("ordinary client %d session %d: %s", i,
				       j, tpm2t_strerror(res));
			}
		}
	}
	for (i = 0; i < nhog; i++) {
		res = tpm2t_use_session(h, &hog[i]);
		if (!res)
			continue;
		ASSERT_EQ(EVICTED_S0, res)
			TH_LOG("hog's session %d: %s", i, tpm2t_strerror(res));
		hog_evicted++;
	}
	TH_LOG("%d ordinary sessions, %d lost; hog: %d sessions, %d evicted",
	       nord, ord_lost, nhog, hog_evicted);
	ASSERT_EQ(0, ord_lost);
	ASSERT_EQ(NR_NEW, hog_evicted);
	for (i = 0; i < NR_NEW; i++)
		ASSERT_TPM_OK(tpm2t_use_session(nfd, &ns[i]));
	ASSERT_ZERO_SLOTS(&self->now);

	close(nfd);
	close(h);
	for (i = 0; i < NR_ORDINARY; i++)
		close(ofd[i]);
	ASSERT_NO_LEAK(&self->now, &self->before);
}

/* Load one more object or session through the outside holder */
static void hold(struct __test_metadata *_metadata, struct holder *out,
		 bool session)
{
	struct tpm2t_session s;
	__u32 handle;

	ASSERT_GT(ARRAY_SIZE(out->held), out->nr);
	if (session) {
		ASSERT_TPM_OK(tpm2t_start_auth_session(out->fd, TPM2_SE_HMAC,
						       &s));
		handle = s.handle;
	} else {
		ASSERT_TPM_OK(tpm2t_create_key(out->fd, TPM2_RH_NULL, &handle));
	}
	out->held[out->nr++] = handle;
}

static void release(struct __test_metadata *_metadata, struct holder *out)
{
	ASSERT_LT(0, out->nr);
	out->nr--;
	ASSERT_TPM_OK(tpm2t_flush_context(out->fd, out->held[out->nr]));
}

/* A failure the RM made up for slots it could not get */
static bool slots_refused(int res, __u32 rc)
{
	return res == TPM2T_RM_RC(rc) ||
	       (rc == TPM2_RC_OBJECT_MEMORY &&
		res == TPM2T_RM_RC(TPM2_RC_OBJECT_HANDLES));
}

/*
 * Slots held outside the resource manager (tboot, a /dev/tpm0 user):
 * commands that fit into the rest succeed, the others get the RM's clear
 * error, and the space loses nothing. The RM holds no slot after any step.
 */
TEST_F_TIMEOUT(exhaust, outside_holders, 120)
{
	__u32 tmin = 0, smin = 0, k1, k2;
	struct tpm2t_session s1, s2;
	int fd, res;
	long t;

	self->out.fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, self->out.fd);
	ASSERT_TPM_OK(tpm2t_get_property(self->out.fd, TPM2_PT_HR_TRANSIENT_MIN,
					 &tmin));
	ASSERT_TPM_OK(tpm2t_get_property(self->out.fd, TPM2_PT_HR_LOADED_MIN,
					 &smin));
	/* with more slots the RM's loads would not fail */
	ASSERT_EQ(3, tmin);
	ASSERT_EQ(3, smin);
	fd = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, fd);

	/* two objects outside: one slot left, enough for one object */
	hold(_metadata, &self->out, false);
	hold(_metadata, &self->out, false);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 2, 0);
	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_OWNER, &k1));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 2, 0);
	ASSERT_TPM_OK(tpm2t_sign(fd, k1, tpm2t_digest));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 2, 0);
	ASSERT_TPM_OK(tpm2t_create_key(fd, TPM2_RH_NULL, &k2));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 2, 0);
	ASSERT_TPM_OK(tpm2t_sign(fd, k2, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(fd, k1, tpm2t_digest));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 2, 0);

	/* Certify needs both keys loaded: does not fit */
	res = tpm2t_certify(fd, k1, k2);
	TH_LOG("Certify with one free object slot: %s", tpm2t_strerror(res));
	ASSERT_TRUE(slots_refused(res, TPM2_RC_OBJECT_MEMORY));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 2, 0);
	ASSERT_TPM_OK(tpm2t_sign(fd, k1, tpm2t_digest));
	ASSERT_TPM_OK(tpm2t_sign(fd, k2, tpm2t_digest));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 2, 0);

	/* one released: now it fits */
	release(_metadata, &self->out);
	ASSERT_TPM_OK(tpm2t_certify(fd, k1, k2));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 1, 0);

	/* every object slot outside: no object of the space can be used */
	hold(_metadata, &self->out, false);
	hold(_metadata, &self->out, false);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 3, 0);
	res = tpm2t_sign(fd, k1, tpm2t_digest);
	TH_LOG("Sign with no free object slot: %s", tpm2t_strerror(res));
	ASSERT_TRUE(slots_refused(res, TPM2_RC_OBJECT_MEMORY));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 3, 0);
	res = tpm2t_create_key(fd, TPM2_RH_OWNER, &k2);
	TH_LOG("CreatePrimary with no free object slot: %s",
	       tpm2t_strerror(res));
	ASSERT_NE(0, res);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 3, 0);
	release(_metadata, &self->out);
	release(_metadata, &self->out);
	release(_metadata, &self->out);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 0);
	/* the space lost nothing */
	ASSERT_TPM_OK(tpm2t_certify(fd, k2, k1));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 0);

	/* sessions: every session slot outside */
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s1));
	ASSERT_TPM_OK(tpm2t_use_session(fd, &s1));
	hold(_metadata, &self->out, true);
	hold(_metadata, &self->out, true);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 2);
	ASSERT_TPM_OK(tpm2t_use_session(fd, &s1));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 2);
	hold(_metadata, &self->out, true);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 3);
	t = tpm2t_now_ms();
	res = tpm2t_use_session(fd, &s1);
	TH_LOG("session use with no free session slot: %s after %ld ms",
	       tpm2t_strerror(res), tpm2t_now_ms() - t);
	ASSERT_EQ(TPM2T_RM_RC(TPM2_RC_SESSION_MEMORY), res);
	ASSERT_GE(self->wait_ms + 1000, tpm2t_now_ms() - t);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 3);
	t = tpm2t_now_ms();
	res = tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s2);
	TH_LOG("StartAuthSession with no free session slot: %s after %ld ms",
	       tpm2t_strerror(res), tpm2t_now_ms() - t);
	ASSERT_EQ(TPM2T_RM_RC(TPM2_RC_SESSION_MEMORY), res);
	ASSERT_GE(self->wait_ms + 1000, tpm2t_now_ms() - t);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 3);
	/* objects still fit */
	ASSERT_TPM_OK(tpm2t_sign(fd, k1, tpm2t_digest));
	release(_metadata, &self->out);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 2);
	/* the session kept its state: its response HMAC checks out */
	ASSERT_TPM_OK(tpm2t_use_session(fd, &s1));
	ASSERT_TPM_OK(tpm2t_start_auth_session(fd, TPM2_SE_HMAC, &s2));
	ASSERT_TPM_OK(tpm2t_use_session(fd, &s2));
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 2);
	release(_metadata, &self->out);
	release(_metadata, &self->out);
	ASSERT_ZERO_SLOTS_BESIDE(&self->now, self->out.fd, 0, 0);

	ASSERT_TPM_OK(tpm2t_flush_context(fd, s1.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, s2.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, k1));
	ASSERT_TPM_OK(tpm2t_flush_context(fd, k2));
	close(fd);
	close(self->out.fd);
	ASSERT_NO_LEAK(&self->now, &self->before);
}

/*
 * Which saved session goes first: an abandoned one (client-saved by a file
 * now closed), though an older one exists; then the least recently used,
 * here one its live owner has client-saved. Loading that blob gives the
 * defined error, and the owner starts a new session.
 */
TEST_F_TIMEOUT(exhaust, abandoned_then_client_saved, 120)
{
	struct tpm2t_session old, gone, fill[MAX_ACTIVE], ns[2], fresh;
	struct tpm2t_context old_blob, gone_blob;
	int a, c, nfd, fd[MAX_ACTIVE], nfill, res, i;
	__u32 handle;

	a = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, a);
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_POLICY, &old));
	ASSERT_TPM_OK(tpm2t_context_save(a, old.handle, &old_blob));

	c = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, c);
	ASSERT_TPM_OK(tpm2t_start_auth_session(c, TPM2_SE_POLICY, &gone));
	ASSERT_TPM_OK(tpm2t_context_save(c, gone.handle, &gone_blob));
	close(c);

	/* the rest of the TPM's sessions, one per file */
	nfill = self->active_max - self->before.saved - 2;
	start_sessions(_metadata, -1, fd, fill, nfill, "filler");
	ASSERT_ZERO_SLOTS(&self->now);
	tpm2t_sleep_ms(self->grace_ms + 300);

	nfd = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, nfd);
	for (i = 0; i < 2; i++) {
		res = tpm2t_start_auth_session(nfd, TPM2_SE_HMAC, &ns[i]);
		ASSERT_EQ(0, res)
			TH_LOG("newcomer's session %d: %s", i,
			       tpm2t_strerror(res));
	}
	ASSERT_ZERO_SLOTS(&self->now);

	/* neither the fillers nor the newcomer lost a session */
	for (i = 0; i < nfill; i++) {
		res = tpm2t_use_session(fd[i], &fill[i]);
		ASSERT_EQ(0, res)
			TH_LOG("filler %d: %s", i, tpm2t_strerror(res));
	}
	for (i = 0; i < 2; i++)
		ASSERT_TPM_OK(tpm2t_use_session(nfd, &ns[i]));
	/* the client-saved session of the live file went second */
	res = tpm2t_context_load(a, &old_blob, &handle);
	TH_LOG("load of the evicted client-saved blob: %s",
	       tpm2t_strerror(res));
	ASSERT_EQ(EVICTED_H0, res);
	/* the abandoned one went first: no later file gets it back */
	c = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, c);
	res = tpm2t_context_load(c, &gone_blob, &handle);
	TH_LOG("load of the evicted abandoned blob: %s", tpm2t_strerror(res));
	ASSERT_NE(0, res);
	ASSERT_FALSE(is_exhaustion(res));
	/* the told owner starts again (evicting another idle session) */
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC, &fresh));
	ASSERT_TPM_OK(tpm2t_use_session(a, &fresh));
	ASSERT_ZERO_SLOTS(&self->now);

	close(c);
	close(nfd);
	close(a);
	for (i = 0; i < nfill; i++)
		close(fd[i]);
	ASSERT_NO_LEAK(&self->now, &self->before);
}

/*
 * One cycle (client ContextSave + ContextLoad) takes 6-10 ms in an idle
 * QEMU TCG guest and about 25 ms on a host loaded by a second build, so
 * 70,000 of them take 7 to 30 minutes. The deadline leaves room for a host
 * that slow; the settings file gives the whole binary more than that. The
 * count must stay above CONTEXT_GAP_MAX, so the cycles cannot be fewer.
 */
#define GAP_CYCLES	70000
#define GAP_DEADLINE_MS	(2000 * 1000)

/*
 * Context gap: one file keeps an idle session, and the client-saved blob
 * of another, while a second file saves and loads its own session 70,000
 * times, more than the TPM's CONTEXT_GAP_MAX. No 0x901 reaches anyone,
 * the idle session works, and the old blob still loads.
 */
TEST_F_TIMEOUT(exhaust, context_gap, 2100)
{
	struct tpm2t_session idle, kept, cyc;
	struct tpm2t_context blob, ctx;
	int a, b, res = 0, n901 = 0, i;
	long t0, regaps0, regaps1;
	__u32 gap = 0, handle;
	int fd;

	fd = tpm2t_open_wait(TPM2T_TPM_DEV);
	ASSERT_LE(0, fd);
	ASSERT_TPM_OK(tpm2t_get_property(fd, TPM2_PT_CONTEXT_GAP_MAX, &gap));
	close(fd);
	TH_LOG("the TPM's CONTEXT_GAP_MAX: 0x%x", gap);
	ASSERT_GT(GAP_CYCLES, gap);

	a = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, a);
	b = tpm2t_open(TPM2T_RM_DEV);
	ASSERT_LE(0, b);
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC, &idle));
	ASSERT_TPM_OK(tpm2t_use_session(a, &idle));
	ASSERT_TPM_OK(tpm2t_start_auth_session(a, TPM2_SE_HMAC, &kept));
	ASSERT_TPM_OK(tpm2t_use_session(a, &kept));
	ASSERT_TPM_OK(tpm2t_context_save(a, kept.handle, &blob));
	ASSERT_TPM_OK(tpm2t_start_auth_session(b, TPM2_SE_HMAC, &cyc));
	ASSERT_TPM_OK(tpm2t_use_session(b, &cyc));
	ASSERT_ZERO_SLOTS(&self->now);
	regaps0 = counter("context_regaps");

	t0 = tpm2t_now_ms();
	for (i = 0; i < GAP_CYCLES; i++) {
		res = tpm2t_context_save(b, cyc.handle, &ctx);
		if (!res) {
			res = tpm2t_context_load(b, &ctx, &handle);
			if (!res && handle != cyc.handle)
				res = -EBADSLT;
		}
		if (res) {
			n901 += rc_is(res, TPM2_RC_CONTEXT_GAP);
			break;
		}
		if (i && i % 10000 == 0)
			TH_LOG("%d cycles in %ld ms", i, tpm2t_now_ms() - t0);
		if (tpm2t_now_ms() - t0 > GAP_DEADLINE_MS)
			break;
	}
	TH_LOG("%d of %d cycles in %ld ms (%.2f ms per cycle): %s", i,
	       GAP_CYCLES, tpm2t_now_ms() - t0,
	       (double)(tpm2t_now_ms() - t0) / (i ? i : 1), tpm2t_strerror(res));
	ASSERT_EQ(0, n901);
	ASSERT_EQ(0, res);
	ASSERT_EQ(GAP_CYCLES, i)
		TH_LOG("too slow: the deadline of %d ms came first",
		       GAP_DEADLINE_MS);
	ASSERT_ZERO_SLOTS(&self->now);
	regaps1 = counter("context_regaps");
	TH_LOG("context_regaps %ld -> %ld", regaps0, regaps1);
	if (regaps0 >= 0 && regaps1 >= 0)
		ASSERT_LT(regaps0, regaps1);

	ASSERT_TPM_OK(tpm2t_use_session(b, &cyc));
	ASSERT_TPM_OK(tpm2t_use_session(a, &idle));
	res = tpm2t_context_load(a, &blob, &handle);
	ASSERT_EQ(0, res)
		TH_LOG("load of the blob saved before: %s",
		       tpm2t_strerror(res));
	ASSERT_EQ(kept.handle, handle);
	ASSERT_TPM_OK(tpm2t_use_session(a, &kept));
	ASSERT_ZERO_SLOTS(&self->now);

	ASSERT_TPM_OK(tpm2t_flush_context(a, idle.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(a, kept.handle));
	ASSERT_TPM_OK(tpm2t_flush_context(b, cyc.handle));
	close(a);
	close(b);
	ASSERT_NO_LEAK(&self->now, &self->before);
}

TEST_HARNESS_MAIN
