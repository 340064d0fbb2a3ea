/* SPDX-License-Identifier: MIT */
/*
 * banned: libc calls that invite buffer overruns or hide global state become
 * compile errors (the idea of git's banned.h). Every source file includes it
 * last, after all system headers. Use snprintf, memcpy with a known size,
 * gmtime_r/localtime_r, strtok_r instead.
 */
#ifndef MODELD_BANNED_H
#define MODELD_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_modeld

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef ctime
#define ctime(t) BANNED(ctime)
#undef asctime
#define asctime(t) BANNED(asctime)

#endif
