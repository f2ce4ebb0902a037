/* SPDX-License-Identifier: GPL-2.0-only */
/* No tracepoints are created in the fuzzers' build. */
