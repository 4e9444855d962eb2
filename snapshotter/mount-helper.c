/*
 * tsbuild's mount helper (snapshotter/mount-helper.ts): performs mount(2) and umount2(2)
 * for the process that started it, one request at a time read from stdin, each in a thread
 * of its own (an unmount syncs the upper file system and can take a while; others go on).
 *
 * A request is NUL-terminated fields: "M", id, cwd, fstype, source, target, flags (decimal
 * MS_* bits), data; or "U", id, target. The reply, one line on stdout: "<id> 0" or
 * "<id> <errno> <message>". Each thread has its own working directory (unshare CLONE_FS),
 * since overlay options name layers relative to it. Ends when stdin closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define MAX_FIELDS 8

struct request {
  int count;
  char *fields[MAX_FIELDS];
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void reply(const char *id, int error) {
  pthread_mutex_lock(&out_lock);
  if (error == 0) printf("%s 0\n", id);
  else printf("%s %d %s\n", id, error, strerror(error));
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
}

static void *serve(void *arg) {
  struct request *r = arg;
  const char *type = r->fields[0], *id = r->fields[1];
  int error = 0;
  if (strcmp(type, "M") == 0 && r->count == 8) {
    if (unshare(CLONE_FS) != 0 || chdir(r->fields[2]) != 0) error = errno;
    else if (mount(r->fields[4], r->fields[5], r->fields[3], strtoul(r->fields[6], NULL, 10), r->fields[7]) != 0) error = errno;
  } else if (strcmp(type, "U") == 0 && r->count == 3) {
    if (umount2(r->fields[2], 0) != 0) error = errno;
  } else {
    error = EINVAL;
  }
  reply(id, error);
  for (int i = 0; i < r->count; i++) free(r->fields[i]);
  free(r);
  return NULL;
}

/* One NUL-terminated field from stdin; NULL at the end of input. */
static char *read_field(void) {
  size_t size = 256, length = 0;
  char *field = malloc(size);
  if (field == NULL) return NULL;
  for (;;) {
    int c = getchar();
    if (c == EOF) {
      free(field);
      return NULL;
    }
    if (length + 1 >= size) {
      char *larger = realloc(field, size *= 2);
      if (larger == NULL) {
        free(field);
        return NULL;
      }
      field = larger;
    }
    field[length++] = (char)c;
    if (c == '\0') return field;
  }
}

int main(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    struct request *r = calloc(1, sizeof *r);
    if (r == NULL) return 1;
    char *type = read_field();
    if (type == NULL) pthread_exit(NULL); /* the requests in flight still answer */
    r->fields[r->count++] = type;
    int wanted = strcmp(type, "M") == 0 ? 8 : strcmp(type, "U") == 0 ? 3 : 2;
    while (r->count < wanted) {
      char *field = read_field();
      if (field == NULL) pthread_exit(NULL);
      r->fields[r->count++] = field;
    }
    pthread_t thread;
    if (pthread_create(&thread, &attr, serve, r) != 0) serve(r);
  }
}
