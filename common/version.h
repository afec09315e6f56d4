/*
 * version.h - xenpipe's version: what --version prints (cli.c) and what
 * the xenpipe key of a stream's config records (config.c).  The Makefile
 * reads it too (make deb).
 */
#ifndef XENPIPE_VERSION_H
#define XENPIPE_VERSION_H

#define XENPIPE_VERSION	"0.1.0"

#endif
