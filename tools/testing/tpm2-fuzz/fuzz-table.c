// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the per-space handle tables, built unmodified from
 * drivers/char/tpm/tpm2-space-table.c.
 *
 * The input is a program: a few spaces add, find and delete objects, and
 * start, save, lose, abandon and claim sessions, in the order the input
 * says, with allocation failures where it says. After every step the real
 * lists are walked and compared with a naive model, a few arrays anyone
 * can check by eye, as wireguard's allowedips selftest checks its trie
 * against horrible_allowedips. Each program ends with every file closed,
 * and then no allocation may be left.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/slab.h>
#include "fake-chip.h"
#include "../../../drivers/char/tpm/tpm2-space.h"

#define NR_SPACES	3
#define MAX_OBJS	64
#define MAX_SESS	64
#define VH_FIRST	0x80000000
#define VH_MASK		0x00FFFFFF

struct model_obj {
	struct tpm2_rm_object *p;
	u32 vhandle;
};

struct model_sess {
	struct tpm2_rm_session *p;
	u32 handle;
	int owner;		/* space index, or -1 while abandoned */
	u32 uid;		/* the owner's, kept while abandoned */
	u8 state;		/* TPM2_RM_HELD for TPM2_RM_LOADED, too */
	bool loaded;
	bool in_chip;
	u64 node_pos;		/* order in the owner's or the abandoned list */
	u64 chip_pos;		/* order in the chip's list */
};

static struct tpm2_rm_chip rm;
static struct tpm_space spaces[NR_SPACES];
static const u32 space_uid[NR_SPACES] = { 1000, 1000, 0 };

static struct model_obj objs[NR_SPACES][MAX_OBJS];
static unsigned int nr_objs[NR_SPACES];
static u32 model_next_vhandle[NR_SPACES];
static struct model_sess sess[MAX_SESS];
static unsigned int nr_sess;
static u64 pos_counter;

struct program {
	const u8 *p;
	size_t left;
};

static u8 next_byte(struct program *prog)
{
	if (!prog->left)
		return 0;
	prog->left--;
	return *prog->p++;
}

static void fail(const char *what, unsigned int line)
{
	fprintf(stderr, "tpm2-fuzz: table: line %u: %s\n", line, what);
	abort();
}

#define CHECK(cond)						\
	do {							\
		if (!(cond))					\
			fail("failed: " #cond, __LINE__);	\
	} while (0)

/* ---- the model ---- */

static bool model_vhandle_used(int s, u32 vhandle)
{
	unsigned int i;

	for (i = 0; i < nr_objs[s]; i++)
		if (objs[s][i].vhandle == vhandle)
			return true;
	return false;
}

static u32 model_take_vhandle(int s)
{
	u32 vhandle;

	do {
		vhandle = VH_FIRST | (model_next_vhandle[s]++ & VH_MASK);
	} while (model_vhandle_used(s, vhandle));
	return vhandle;
}

static void model_drop_obj(int s, unsigned int i)
{
	objs[s][i] = objs[s][--nr_objs[s]];
}

static void model_drop_sess(unsigned int i)
{
	sess[i] = sess[--nr_sess];
}

static int model_find_sess(const struct tpm2_rm_session *p)
{
	unsigned int i;

	for (i = 0; i < nr_sess; i++)
		if (sess[i].p == p)
			return i;
	return -1;
}

/* The owner's first session with @handle, in list order, tombstones too. */
static int model_space_first(int s, u32 handle)
{
	int best = -1;
	unsigned int i;

	for (i = 0; i < nr_sess; i++)
		if (sess[i].owner == s && sess[i].handle == handle &&
		    (best < 0 || sess[i].node_pos < sess[best].node_pos))
			best = i;
	return best;
}

static int model_chip_first(u32 handle)
{
	int best = -1;
	unsigned int i;

	for (i = 0; i < nr_sess; i++)
		if (sess[i].in_chip && sess[i].handle == handle &&
		    (best < 0 || sess[i].chip_pos < sess[best].chip_pos))
			best = i;
	return best;
}

static bool model_is_saved(const struct model_sess *m)
{
	return (m->state == TPM2_RM_HELD && !m->loaded) ||
	       m->state == TPM2_RM_CLIENT_SAVED ||
	       m->state == TPM2_RM_ABANDONED;
}

/* The table's state of a model session */
static u8 model_state(const struct model_sess *m)
{
	return m->state == TPM2_RM_HELD && m->loaded ? TPM2_RM_LOADED :
						       m->state;
}

static unsigned int model_stale_in(int s)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr_sess; i++)
		n += sess[i].owner == s && sess[i].state == TPM2_RM_STALE;
	return n;
}

static unsigned int model_count(bool (*in)(const struct model_sess *, int))
{
	unsigned int i, n = 0;

	for (i = 0; i < nr_sess; i++)
		n += in(&sess[i], 0);
	return n;
}

static unsigned int model_live_in(int s)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr_sess; i++)
		if (sess[i].owner == s && sess[i].state != TPM2_RM_STALE)
			n++;
	return n;
}

/* ---- comparing the real lists with the model ---- */

/* The model's entries of one list, in list order; -1 ends. */
static void model_order(int *out, bool (*in)(const struct model_sess *, int),
			int arg, bool by_chip)
{
	unsigned int i, j, n = 0;

	for (i = 0; i < nr_sess; i++) {
		if (!in(&sess[i], arg))
			continue;
		for (j = n; j > 0; j--) {
			const struct model_sess *o = &sess[out[j - 1]];
			u64 a = by_chip ? sess[i].chip_pos : sess[i].node_pos;
			u64 b = by_chip ? o->chip_pos : o->node_pos;

			if (b < a)
				break;
			out[j] = out[j - 1];
		}
		out[j] = i;
		n++;
	}
	out[n] = -1;
}

static bool owned_by(const struct model_sess *m, int s)
{
	return m->owner == s;
}

static bool in_chip(const struct model_sess *m, int unused)
{
	return m->in_chip;
}

static bool owned_by_none(const struct model_sess *m, int unused)
{
	return m->owner < 0;
}

static void check_sess_fields(const struct tpm2_rm_session *p,
			      const struct model_sess *m)
{
	CHECK(p->handle == m->handle);
	CHECK(p->state == model_state(m));
	CHECK(p->euid.val == m->uid);
	if (m->owner >= 0)
		CHECK(p->space == &spaces[m->owner]);
	else
		CHECK(!p->space);
	CHECK(tpm2_rm_session_is_saved(p) == model_is_saved(m));
	if (m->state == TPM2_RM_STALE)
		CHECK(!p->blob);
}

static void check_list(struct list_head *head, bool chip_list,
		       const int *order)
{
	struct tpm2_rm_session *p;
	unsigned int n = 0;

	if (chip_list) {
		list_for_each_entry(p, head, chip_node) {
			CHECK(order[n] >= 0 && sess[order[n]].p == p);
			check_sess_fields(p, &sess[order[n++]]);
		}
	} else {
		list_for_each_entry(p, head, node) {
			CHECK(order[n] >= 0 && sess[order[n]].p == p);
			check_sess_fields(p, &sess[order[n++]]);
		}
	}
	CHECK(order[n] == -1);
}

static void check_objects(int s)
{
	struct tpm_space *space = &spaces[s];
	struct tpm2_rm_object *obj;
	unsigned int n = 0;
	u32 prev = 0;

	list_for_each_entry(obj, &space->objects, node) {
		/* sorted and unique, for GetCapability */
		CHECK(!n || obj->vhandle > prev);
		CHECK((obj->vhandle & ~VH_MASK) == VH_FIRST);
		CHECK(model_vhandle_used(s, obj->vhandle));
		CHECK(tpm2_rm_object_find(space, obj->vhandle) == obj);
		prev = obj->vhandle;
		n++;
	}
	CHECK(n == nr_objs[s]);
	CHECK(space->nr_objects == nr_objs[s]);
	CHECK(space->next_vhandle == model_next_vhandle[s]);
}

static void check_all(void)
{
	int order[MAX_SESS + 1];
	int s;

	for (s = 0; s < NR_SPACES; s++) {
		check_objects(s);
		model_order(order, owned_by, s, false);
		check_list(&spaces[s].sessions, false, order);
		CHECK(spaces[s].nr_sessions == model_live_in(s));
		CHECK(spaces[s].nr_tombstones == model_stale_in(s));
	}
	model_order(order, owned_by, -1, false);
	check_list(&rm.abandoned, false, order);
	CHECK(rm.nr_abandoned == model_count(owned_by_none));
	model_order(order, in_chip, 0, true);
	check_list(&rm.sessions, true, order);
	CHECK(rm.nr_sessions == model_count(in_chip));
}

/* ---- the steps ---- */

static u32 pick_handle(struct program *prog)
{
	u8 b = next_byte(prog);

	/* a few handles only, so that they collide */
	return (b & 0x80 ? TPM2_MSO_POLICY << 24 : TPM2_MSO_SESSION << 24) |
	       (b & 7);
}

static int pick_sess(struct program *prog, bool (*ok)(const struct model_sess *))
{
	unsigned int i, start;

	if (!nr_sess)
		return -1;
	start = next_byte(prog) % nr_sess;
	for (i = 0; i < nr_sess; i++) {
		unsigned int j = (start + i) % nr_sess;

		if (!ok || ok(&sess[j]))
			return j;
	}
	return -1;
}

static void give_blob(u8 **blob, u16 *len, struct program *prog)
{
	u8 *p = kzalloc(1 + next_byte(prog), GFP_KERNEL);

	if (!p)
		return;
	kfree(*blob);
	*blob = p;
	*len = 1;
}

static void step_obj_add(int s, bool fail_alloc)
{
	struct tpm2_rm_object *obj;

	if (nr_objs[s] == MAX_OBJS)
		return;
	/* the resource manager asks before it adds one */
	CHECK(tpm2_rm_over_quota(&spaces[s], TPM_SPACE_QUOTA_OBJECTS) ==
	      (nr_objs[s] >= tpm2_space_max_objects));
	if (fail_alloc)
		fake_fail_alloc_after(0);
	obj = tpm2_rm_object_add(&spaces[s]);
	fake_fail_alloc_after(-1);
	if (fail_alloc) {
		CHECK(!obj);
		return;
	}
	CHECK(obj && !obj->blob && !obj->phandle);
	objs[s][nr_objs[s]].p = obj;
	objs[s][nr_objs[s]++].vhandle = model_take_vhandle(s);
	CHECK(obj->vhandle == objs[s][nr_objs[s] - 1].vhandle);
}

static void step_obj_del(int s, struct program *prog)
{
	unsigned int i;

	if (!nr_objs[s])
		return;
	i = next_byte(prog) % nr_objs[s];
	tpm2_rm_object_del(&spaces[s], objs[s][i].p);
	model_drop_obj(s, i);
}

static void step_obj_find(int s, struct program *prog)
{
	u32 vhandle = VH_FIRST | (next_byte(prog) & 0x1F);
	struct tpm2_rm_object *obj = tpm2_rm_object_find(&spaces[s], vhandle);
	unsigned int i;

	for (i = 0; i < nr_objs[s]; i++)
		if (objs[s][i].vhandle == vhandle)
			break;
	CHECK(i < nr_objs[s] ? obj == objs[s][i].p : !obj);
}

/* Near the end of the 24-bit range, so that handles wrap and skip. */
static void step_obj_wrap(int s, struct program *prog)
{
	u32 v = VH_MASK - (next_byte(prog) & 0xF);

	if (next_byte(prog) & 1)
		v = next_byte(prog) & 0x1F;	/* or back to the start */
	spaces[s].next_vhandle = v;
	model_next_vhandle[s] = v;
}

static void step_sess_add(int s, struct program *prog, bool fail_alloc)
{
	u32 handle = pick_handle(prog);
	struct tpm2_rm_session *p;
	int old;

	/* the TPM never hands out a handle it still has */
	if (model_chip_first(handle) >= 0 || nr_sess == MAX_SESS)
		return;
	if (fail_alloc)
		fake_fail_alloc_after(0);
	p = tpm2_rm_session_add(&rm, &spaces[s], handle);
	fake_fail_alloc_after(-1);
	if (fail_alloc) {
		CHECK(!p);
		return;
	}
	CHECK(p && p->state == TPM2_RM_LOADED && !p->blob);
	/* the client knows the handle as the new session's now */
	old = model_space_first(s, handle);
	if (old >= 0) {
		CHECK(sess[old].state == TPM2_RM_STALE);
		model_drop_sess(old);
	}
	sess[nr_sess++] = (struct model_sess){
		.p = p, .handle = handle, .owner = s, .uid = space_uid[s],
		.state = TPM2_RM_HELD,
		.loaded = true, .in_chip = true, .node_pos = pos_counter + 1,
		.chip_pos = pos_counter + 2,
	};
	pos_counter += 2;
}

static bool is_owned(const struct model_sess *m)
{
	return m->owner >= 0;
}

static bool is_owned_live(const struct model_sess *m)
{
	return m->owner >= 0 && m->state != TPM2_RM_STALE;
}

static bool is_known(const struct model_sess *m)
{
	return m->state != TPM2_RM_STALE;
}

static bool is_abandoned(const struct model_sess *m)
{
	return m->owner < 0;
}

static bool is_held(const struct model_sess *m)
{
	return m->state == TPM2_RM_HELD;
}

static void model_make_tombstone(struct model_sess *m)
{
	m->loaded = false;
	if (m->state == TPM2_RM_STALE)
		return;
	m->state = TPM2_RM_STALE;
	m->in_chip = false;
	m->node_pos = ++pos_counter;
}

static void step_sess_forget_owned(struct program *prog)
{
	int i = pick_sess(prog, is_owned_live);

	if (i < 0)
		return;
	tpm2_rm_session_forget(&rm, sess[i].p);
	model_make_tombstone(&sess[i]);
}

static void step_sess_forget(struct program *prog)
{
	int i = pick_sess(prog, is_known);

	if (i < 0)
		return;
	tpm2_rm_session_forget(&rm, sess[i].p);
	if (sess[i].owner >= 0)
		model_make_tombstone(&sess[i]);
	else
		model_drop_sess(i);
}

static void step_sess_del(struct program *prog)
{
	int i = pick_sess(prog, NULL);

	if (i < 0)
		return;
	tpm2_rm_session_del(&rm, sess[i].p);
	model_drop_sess(i);
}

/* The oldest tombstones go, down to one per session a space may hold. */
static void step_trim(int s)
{
	unsigned int i, stale = 0;
	int oldest;

	tpm2_rm_trim_tombstones(&rm, &spaces[s]);
	for (i = 0; i < nr_sess; i++)
		if (sess[i].owner == s && sess[i].state == TPM2_RM_STALE)
			stale++;
	while (stale > tpm2_space_max_sessions) {
		oldest = -1;
		for (i = 0; i < nr_sess; i++)
			if (sess[i].owner == s &&
			    sess[i].state == TPM2_RM_STALE &&
			    (oldest < 0 ||
			     sess[i].node_pos < sess[oldest].node_pos))
				oldest = i;
		model_drop_sess(oldest);
		stale--;
	}
}

/*
 * A loaded session is saved after its command, by the RM or, for a
 * ContextSave, by the client; a saved one is loaded for a command, or by
 * its client's ContextLoad.
 */
static void step_sess_state(struct program *prog)
{
	int i = pick_sess(prog, is_owned_live);
	u8 b = next_byte(prog);
	u8 to;

	if (i < 0)
		return;
	if (model_state(&sess[i]) == TPM2_RM_LOADED)
		to = b & 1 ? TPM2_RM_CLIENT_SAVED : TPM2_RM_HELD;
	else
		to = TPM2_RM_LOADED;
	CHECK(tpm2_rm_session_set_state(&rm, sess[i].p, to, NULL));
	sess[i].state = to == TPM2_RM_CLIENT_SAVED ? TPM2_RM_CLIENT_SAVED :
						     TPM2_RM_HELD;
	sess[i].loaded = to == TPM2_RM_LOADED;
}

/* Returns the model's index of the session the RM must now drop, or -1. */
static int model_abandon(int i)
{
	unsigned int j, count = 0;
	int oldest = -1;

	sess[i].owner = -1;
	sess[i].state = TPM2_RM_ABANDONED;
	sess[i].node_pos = ++pos_counter;
	for (j = 0; j < nr_sess; j++) {
		if (sess[j].owner >= 0 || sess[j].uid != sess[i].uid)
			continue;
		count++;
		if (oldest < 0 || sess[j].node_pos < sess[oldest].node_pos)
			oldest = j;
	}
	return count > tpm2_space_max_abandoned ? oldest : -1;
}

/* A file closes, as tpm2_del_space() releases it; the space is reused. */
static void step_close(int s)
{
	struct tpm2_rm_session *victim;
	unsigned int i;
	int want;

	while (nr_objs[s]) {
		tpm2_rm_object_del(&spaces[s], objs[s][0].p);
		model_drop_obj(s, 0);
	}
	for (i = 0; i < nr_sess;) {
		if (sess[i].owner != s) {
			i++;
			continue;
		}
		if (sess[i].state != TPM2_RM_CLIENT_SAVED) {
			tpm2_rm_session_del(&rm, sess[i].p);
			model_drop_sess(i);
			continue;
		}
		victim = tpm2_rm_abandon(&rm, sess[i].p);
		want = model_abandon(i);
		CHECK(want >= 0 ? victim == sess[want].p : !victim);
		if (victim) {
			tpm2_rm_session_del(&rm, victim);
			model_drop_sess(want);
		}
		i = 0;		/* the array was reordered */
	}
	CHECK(list_empty(&spaces[s].objects) &&
	      list_empty(&spaces[s].sessions));
	CHECK(!spaces[s].nr_objects && !spaces[s].nr_sessions);
}

/* A ContextLoad of an abandoned session by a file of the same user. */
static void step_claim(int s, struct program *prog)
{
	int i = pick_sess(prog, is_abandoned);
	int old;

	if (i < 0 || sess[i].uid != space_uid[s])
		return;
	CHECK(tpm2_rm_session_set_state(&rm, sess[i].p, TPM2_RM_LOADED,
					&spaces[s]));
	old = model_space_first(s, sess[i].handle);
	sess[i].owner = s;
	sess[i].state = TPM2_RM_HELD;
	sess[i].loaded = true;
	sess[i].node_pos = ++pos_counter;
	if (old >= 0) {
		CHECK(sess[old].state == TPM2_RM_STALE);
		model_drop_sess(old);
	}
}

static void step_lookup(int s, struct program *prog)
{
	u32 handle = pick_handle(prog);
	int want = model_chip_first(handle);
	struct tpm2_rm_session *p = tpm2_rm_session_lookup(&rm, handle);

	CHECK(want >= 0 ? p == sess[want].p : !p);
	want = model_space_first(s, handle);
	p = tpm2_rm_session_find(&spaces[s], handle);
	CHECK(want >= 0 ? p == sess[want].p : !p);
}

static void step_blob(int s, struct program *prog)
{
	int i;

	if (next_byte(prog) & 1) {
		if (nr_objs[s]) {
			struct tpm2_rm_object *obj =
				objs[s][next_byte(prog) % nr_objs[s]].p;

			give_blob(&obj->blob, &obj->len, prog);
		}
		return;
	}
	i = pick_sess(prog, is_held);
	if (i >= 0 && sess[i].state != TPM2_RM_STALE)
		give_blob(&sess[i].p->blob, &sess[i].p->len, prog);
}

static void setup(struct program *prog)
{
	int s;

	memset(&rm, 0, sizeof(rm));
	INIT_LIST_HEAD(&rm.sessions);
	INIT_LIST_HEAD(&rm.abandoned);
	INIT_LIST_HEAD(&rm.waiters);
	for (s = 0; s < NR_SPACES; s++) {
		memset(&spaces[s], 0, sizeof(spaces[s]));
		INIT_LIST_HEAD(&spaces[s].objects);
		INIT_LIST_HEAD(&spaces[s].sessions);
		spaces[s].euid.val = space_uid[s];
		nr_objs[s] = 0;
		model_next_vhandle[s] = 0;
	}
	nr_sess = 0;
	pos_counter = 0;
	/* small limits, so that trimming and abandoning happen */
	tpm2_space_max_sessions = next_byte(prog) & 3;
	tpm2_space_max_abandoned = next_byte(prog) & 3;
	/* and a space may hold fewer objects than the model's room */
	tpm2_space_max_objects = 1 + (next_byte(prog) & 7);
}

static void step(struct program *prog)
{
	u8 op = next_byte(prog);
	int s = next_byte(prog) % NR_SPACES;
	bool fail_alloc = op & 0x80;

	switch ((op & 0x7F) % 15) {
	case 0:
		step_obj_add(s, fail_alloc);
		break;
	case 1:
		step_obj_del(s, prog);
		break;
	case 2:
		step_obj_find(s, prog);
		break;
	case 3:
		step_obj_wrap(s, prog);
		break;
	case 4:
	case 5:
		step_sess_add(s, prog, fail_alloc);
		break;
	case 6:
		step_sess_forget_owned(prog);
		break;
	case 7:
		step_sess_forget(prog);
		break;
	case 8:
		step_sess_del(prog);
		break;
	case 9:
		step_trim(s);
		break;
	case 10:
		step_sess_state(prog);
		break;
	case 11:
		step_close(s);
		break;
	case 12:
		step_claim(s, prog);
		break;
	case 13:
		step_lookup(s, prog);
		break;
	case 14:
		step_blob(s, prog);
		break;
	}
	jiffies++;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct program prog = { .p = data, .left = size };
	unsigned int i;
	int s;

	setup(&prog);
	for (i = 0; prog.left && i < 1000; i++) {
		step(&prog);
		check_all();
	}
	for (s = 0; s < NR_SPACES; s++)
		step_close(s);
	/* what is left are abandoned sessions: the chip lets them go */
	while (nr_sess) {
		CHECK(sess[0].owner < 0);
		tpm2_rm_session_del(&rm, sess[0].p);
		model_drop_sess(0);
	}
	check_all();
	CHECK(list_empty(&rm.sessions) && list_empty(&rm.abandoned));
	CHECK(fake_live_allocs() == 0);
	return 0;
}
