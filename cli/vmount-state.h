/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmount-state.h - what vmount remembers between runs, and its locks.
 *
 * The state directory is VMOUNT_STATE_DIR, else /run/vmount (0700): a file
 * per guest, g-HASH, and per shared entry, s-HASH (HASH: FNV-1a of the
 * guest's real path, or of the shared entry's key "REALDIR/FILE:ENTRY").
 * Each file is replaced whole: written to NAME.tmp, fsync'ed, renamed over
 * NAME, the directory fsync'ed; a reader sees one complete version, and a
 * NAME.tmp a killed run left behind goes with its state.  Lines are
 * "TAG FIELDS", fields escaped (bytes <= ' ', 0x7f and '%' as %XX).
 * Locks: flock(2) on NAME.lock, taken in the order of the names.
 *
 * Functions return 0 or a negative errno and print nothing, but
 * vms_open_dir() and vms_lock(), which say what failed through @cli.
 */
#ifndef VAUDIT_CLI_VMOUNT_STATE_H
#define VAUDIT_CLI_VMOUNT_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/vmount.h"

struct cli;

/** The state directory when VMOUNT_STATE_DIR is not set. */
#define VMS_DEFAULT_DIR "/run/vmount"

/* A mount vmount made, or is about to make. */
struct mrec {
	char *id;               /* FILE:ENTRY */
	char *type;
	char *where;            /* below the guest, or on the host */
	bool done;
	struct vm_mntid under;  /* pending: the mount its place was on */
	struct vm_mntid mnt;    /* done: the mount */
};

struct gstate {
	char *guest;            /* the guest directory's real path */
	char *config;
	struct mrec *m;
	size_t nm, mcap;
	char **uses;            /* keys of the shared entries it counts in */
	size_t nu, ucap;
};

struct sstate {
	char *key;
	bool has;               /* a mount is recorded */
	struct mrec m;
	char **users;
	size_t nusers, ucap;
};

/**
 * vms_open_dir() - open the state directory (made when missing, unless
 * @dry: a dry run has no state to make).  Return: 0 or -1 (said on @cli;
 * a dry run says nothing when there is none).
 */
int vms_open_dir(struct cli *cli, bool dry);

/** vms_dir_fd() - the state directory's fd, or -1 before vms_open_dir(). */
int vms_dir_fd(void);

/** vms_name() - the state file name of @key ("g-..." or "s-..." for @kind 'g', 's'). */
void vms_name(char out[32], char kind, const char *key);

/** vms_lock() - take the lock of state @name, waiting for the run holding it.  Return: the fd, or -1 (said on @cli). */
int vms_lock(struct cli *cli, const char *name);

/** vms_load_gstate() - read guest state @name into @g (empty when there is none). */
int vms_load_gstate(const char *name, struct gstate *g);

/** vms_load_sstate() - read shared-entry state @name into @s (empty when there is none). */
int vms_load_sstate(const char *name, struct sstate *s);

/** vms_save_gstate() - replace guest state @name by @g (removed when @g holds nothing). */
int vms_save_gstate(const char *name, const struct gstate *g);

/** vms_save_sstate() - replace shared-entry state @name by @s (removed when @s holds nothing). */
int vms_save_sstate(const char *name, const struct sstate *s);

/** vms_remove() - remove state @name, and a half-written copy of it. */
int vms_remove(const char *name);

/** vms_add_str() - append a copy of @s to the array *@arr of *@n strings (*@cap allocated). */
int vms_add_str(char ***arr, size_t *n, size_t *cap, const char *s);

/** vms_mrec_release(), vms_gstate_release(), vms_sstate_release() - free what they hold. */
void vms_mrec_release(struct mrec *m);
void vms_gstate_release(struct gstate *g);
void vms_sstate_release(struct sstate *s);

/**
 * vms_crash_point() - tests only: VMOUNT_TEST_DIE_AT=N kills the run
 * (SIGKILL) at its Nth crash point (a state file written but not yet
 * renamed, a mount attached but not yet recorded).
 */
void vms_crash_point(void);

#endif
