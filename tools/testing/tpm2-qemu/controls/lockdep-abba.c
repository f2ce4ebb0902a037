// SPDX-License-Identifier: GPL-2.0-only
/*
 * Positive control for lockdep (make check-controls KDEBUG=1): on load,
 * take two mutexes in one order and then in the other. Nothing can
 * deadlock, as one thread does both in turn, but lockdep records the
 * first order and reports the second as a possible circular locking
 * dependency. The module then refuses to stay loaded. It is built only
 * for the debug kernel, which alone has module support, and only the
 * controls load it.
 */
#include <linux/module.h>
#include <linux/mutex.h>

static DEFINE_MUTEX(control_lock_a);
static DEFINE_MUTEX(control_lock_b);

static int __init lockdep_abba_init(void)
{
	mutex_lock(&control_lock_a);
	mutex_lock(&control_lock_b);
	mutex_unlock(&control_lock_b);
	mutex_unlock(&control_lock_a);

	mutex_lock(&control_lock_b);
	mutex_lock(&control_lock_a);
	mutex_unlock(&control_lock_a);
	mutex_unlock(&control_lock_b);

	/* Its work is done: nothing to keep loaded */
	return -EAGAIN;
}
module_init(lockdep_abba_init);

MODULE_DESCRIPTION("Positive control: an AB-BA lock order for lockdep to report");
MODULE_LICENSE("GPL");
