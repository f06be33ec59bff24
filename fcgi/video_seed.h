/* Demo video for `rstream seed` (called by the lead's cmd_seed). */
#ifndef RS_VIDEO_SEED_H
#define RS_VIDEO_SEED_H
int video_seed_demo(void);                        /* 0 ok (also when already there), -1 error */
int video_is_demo(const char *public_id);         /* the catalog marks the demo video */
#endif
