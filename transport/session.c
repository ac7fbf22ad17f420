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

void ip_table_init(struct ip_table *ipt)
{
	memset(ipt, 0, sizeof(*ipt));
	pthread_mutex_init(&ipt->lock, NULL);
}

void ip_table_free(struct ip_table *ipt)
{
	for (unsigned i = 0; i < IP_BUCKETS; i++) {
		struct ip_count *c, *next;

		for (c = ipt->b[i]; c; c = next) {
			next = c->next;
			free(c);
		}
		ipt->b[i] = NULL;
	}
	pthread_mutex_destroy(&ipt->lock);
}

void session_table_init(struct session_table *st, struct ip_table *ipt, unsigned loop)
{
	memset(st, 0, sizeof(*st));
	st->ipt = ipt;
	st->loop = loop;
}

/* With the table's lock held. */
static struct ip_count **ip_slot(struct ip_table *ipt, const char *addr)
{
	struct ip_count **p = &ipt->b[hash_str(addr) % IP_BUCKETS];

	while (*p && strcmp((*p)->addr, addr))
		p = &(*p)->next;
	return p;
}

unsigned session_ip_count(struct session_table *st, const char *addr)
{
	struct ip_count *c;
	unsigned n;

	pthread_mutex_lock(&st->ipt->lock);
	c = *ip_slot(st->ipt, addr);
	n = c ? c->count : 0;
	pthread_mutex_unlock(&st->ipt->lock);
	return n;
}

static struct session **id_bucket(struct session_table *st, uint64_t id)
{
	return &st->ids[(id >> SESSION_LOOP_BITS) % SESSION_BUCKETS];
}

int session_add(struct session_table *st, struct session *s)
{
	struct ip_count **p;
	struct session **b;

	pthread_mutex_lock(&st->ipt->lock);
	p = ip_slot(st->ipt, s->remote);
	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (!*p) {
			pthread_mutex_unlock(&st->ipt->lock);
			return -ENOMEM;
		}
		snprintf((*p)->addr, sizeof((*p)->addr), "%s", s->remote);
	}
	(*p)->count++;
	s->ipc = *p;
	pthread_mutex_unlock(&st->ipt->lock);
	s->id = ++st->next_id << SESSION_LOOP_BITS | st->loop;
	b = id_bucket(st, s->id);
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
	for (b = id_bucket(st, s->id); *b; b = &(*b)->id_next)
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
	pthread_mutex_lock(&st->ipt->lock);
	p = ip_slot(st->ipt, s->remote);
	if (*p && --(*p)->count == 0) {
		struct ip_count *gone = *p;

		*p = gone->next;
		free(gone);
	}
	pthread_mutex_unlock(&st->ipt->lock);
	s->ipc = NULL;
	st->count--;
	s->registered = false;
}

struct session *session_find(struct session_table *st, uint64_t id)
{
	for (struct session *s = *id_bucket(st, id); s; s = s->id_next)
		if (s->id == id)
			return s;
	return NULL;
}
