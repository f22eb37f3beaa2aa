package io.safedefaults.microapp.status;

/**
 * Why a child could not be written: {@code NameTaken} (an object the app does not own holds the
 * child's name) or {@code ApplyFailed} (the API server refused the write). Ready says it.
 */
public record ApplyError(String reason, String message) {}
