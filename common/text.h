#ifndef COMMON_TEXT_H
#define COMMON_TEXT_H

/* Cuts leading and trailing whitespace in place; returns the new start. */
char *text_trim(char *s);

#endif
