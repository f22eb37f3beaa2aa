/**
 * Key-encryption keys held by a KMS (issue 18, item 4): the operator's sealing keyset and every app's
 * session keyset can be stored
 * wrapped under a key the KMS never releases, so a copy of the Secret alone opens nothing.
 *
 * <p>Two KMS clients, both on the JDK's HttpClient (no cloud SDKs): AWS KMS ({@link AwsKmsAead},
 * the KMS JSON API signed with SigV4 by {@link SigV4}) and HashiCorp Vault / OpenBao Transit
 * ({@link VaultTransitAead}). {@link KmsUri} parses the one flag that selects them, strictly and in
 * one place; {@link Kms#kek} builds the key-encryption {@code Aead}, an {@link EnvelopeAead} around
 * the remote key so the keyset's size never meets the KMS's plaintext limit (4 KiB at AWS).
 *
 * <p>Its own module, below both the operator and the sidecar: it uses only the JDK, Tink and Jackson.
 * The sidecar uses it to open its own app's session keyset ({@link WrappedSessionKeys}), logging in
 * to Vault with its projected service-account token ({@link VaultKubernetesLogin}).
 */
package io.safedefaults.microapp.kms;
