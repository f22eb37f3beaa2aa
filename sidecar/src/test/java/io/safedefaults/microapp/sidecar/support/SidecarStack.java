package io.safedefaults.microapp.sidecar.support;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The three real parts most sidecar tests run against, started once per test class and stopped
 * after it: a {@link TestProvider} (OIDC), an {@link EchoUpstream} (the app) and the sidecar
 * between them, configured by {@code customise}. Register it as
 * {@code @RegisterExtension static final SidecarStack stack = new SidecarStack(c -> {...});}; its
 * parts are ready before the class's own {@code @BeforeAll} methods run.
 */
public final class SidecarStack implements BeforeAllCallback, AfterAllCallback {
  private final Consumer<ObjectNode> customise;
  private TestProvider provider;
  private EchoUpstream app;
  private SidecarHarness sidecar;

  public SidecarStack(Consumer<ObjectNode> customise) {
    this.customise = customise;
  }

  public SidecarStack() {
    this(c -> {});
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    provider = new TestProvider();
    app = new EchoUpstream();
    sidecar = new SidecarHarness(provider, app, customise);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (sidecar != null) {
      sidecar.close();
    }
    if (app != null) {
      app.close();
    }
    if (provider != null) {
      provider.close();
    }
  }

  public TestProvider provider() {
    return provider;
  }

  public EchoUpstream app() {
    return app;
  }

  public SidecarHarness sidecar() {
    return sidecar;
  }
}
