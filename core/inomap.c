/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inomap.c - (dev, ino) -> index hash map, open addressing. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/dbuf.h"
#include "core/inomap.h"

struct va_inomap_slot {
	uint64_t ino;
	uint64_t dev;
	uint32_t val;
	bool used;
};

static size_t hash(uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ (dev + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;

	return (size_t)(h ^ (h >> 31));
}

static struct va_inomap_slot *probe(struct va_inomap_slot *slots, size_t cap, uint64_t dev, uint64_t ino)
{
	size_t i = hash(dev, ino) & (cap - 1);

	while (slots[i].used && (slots[i].ino != ino || slots[i].dev != dev))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

int va_inomap_find(const struct va_inomap *m, dev_t dev, uint64_t ino, uint32_t *ret_val)
{
	struct va_inomap_slot *s;

	if (!m->cap)
		return 0;
	s = probe(m->slots, m->cap, dev, ino);
	if (!s->used)
		return 0;
	*ret_val = s->val;
	return 1;
}

static int grow(struct va_inomap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct va_inomap_slot *slots;

	if (cap == 0 || size_mul_sat(cap, sizeof(*slots)) == SIZE_MAX)
		return -ENOMEM;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			*probe(slots, cap, m->slots[i].dev, m->slots[i].ino) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int va_inomap_insert(struct va_inomap *m, dev_t dev, uint64_t ino, uint32_t val)
{
	struct va_inomap_slot *s;

	if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	s = probe(m->slots, m->cap, dev, ino);
	if (!s->used) {
		s->used = true;
		s->dev = dev;
		s->ino = ino;
		m->count++;
	}
	s->val = val;
	return 0;
}

void va_inomap_release(struct va_inomap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}
