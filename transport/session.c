#include "transport/session.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct ip_count **ip_slot(struct session_table *st, const char *addr)
{
	struct ip_count **p = &st->ips[hash_str(addr) % IP_BUCKETS];

	while (*p && strcmp((*p)->addr, addr))
		p = &(*p)->next;
	return p;
}

unsigned session_ip_count(struct session_table *st, const char *addr)
{
	struct ip_count *c = *ip_slot(st, addr);

	return c ? c->count : 0;
}

int session_add(struct session_table *st, struct session *s)
{
	struct ip_count **p = ip_slot(st, s->client);
	struct session **b;

	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (!*p)
			return -ENOMEM;
		snprintf((*p)->addr, sizeof((*p)->addr), "%s", s->client);
	}
	(*p)->count++;
	s->ipc = *p;
	s->id = ++st->next_id;
	b = &st->ids[s->id % SESSION_BUCKETS];
	s->id_next = *b;
	*b = s;
	s->prev = NULL;
	s->next = st->all;
	if (st->all)
		st->all->prev = s;
	st->all = s;
	st->count++;
	s->registered = true;
	return 0;
}

void session_remove(struct session_table *st, struct session *s)
{
	struct ip_count **p;
	struct session **b;

	if (!s->registered)
		return;
	for (b = &st->ids[s->id % SESSION_BUCKETS]; *b; b = &(*b)->id_next)
		if (*b == s) {
			*b = s->id_next;
			break;
		}
	if (s->prev)
		s->prev->next = s->next;
	else
		st->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	p = ip_slot(st, s->client);
	if (*p && --(*p)->count == 0) {
		struct ip_count *gone = *p;

		*p = gone->next;
		free(gone);
	}
	s->ipc = NULL;
	st->count--;
	s->registered = false;
}

struct session *session_find(struct session_table *st, uint64_t id)
{
	for (struct session *s = st->ids[id % SESSION_BUCKETS]; s; s = s->id_next)
		if (s->id == id)
			return s;
	return NULL;
}

void session_table_free(struct session_table *st)
{
	for (unsigned i = 0; i < IP_BUCKETS; i++) {
		struct ip_count *c, *next;

		for (c = st->ips[i]; c; c = next) {
			next = c->next;
			free(c);
		}
		st->ips[i] = NULL;
	}
}
