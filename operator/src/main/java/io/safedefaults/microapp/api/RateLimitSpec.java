package io.safedefaults.microapp.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** Edge and per-user limits (checklist 4). Unset numbers take the cluster policy's defaults. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RateLimitSpec {

  @JsonPropertyDescription("Limit per client IP, enforced by the ingress controller.")
  private PerIp perIP;

  @JsonPropertyDescription("Limit per signed-in user, enforced by the auth sidecar.")
  private PerUser perUser;

  public PerIp getPerIP() { return perIP; }
  public void setPerIP(PerIp perIP) { this.perIP = perIP; }
  public PerUser getPerUser() { return perUser; }
  public void setPerUser(PerUser perUser) { this.perUser = perUser; }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class PerIp {
    @Min(1) @Max(100000)
    @JsonPropertyDescription("Requests per minute from one client IP. Default 100.")
    private Integer requestsPerMinute;

    @Min(1) @Max(10000)
    @JsonPropertyDescription("Short burst allowed per second from one client IP. Default 10.")
    private Integer burstPerSecond;

    public Integer getRequestsPerMinute() { return requestsPerMinute; }
    public void setRequestsPerMinute(Integer v) { this.requestsPerMinute = v; }
    public Integer getBurstPerSecond() { return burstPerSecond; }
    public void setBurstPerSecond(Integer v) { this.burstPerSecond = v; }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class PerUser {
    @Min(1) @Max(100000)
    @JsonPropertyDescription("Requests per minute from one signed-in user. Default 60.")
    private Integer requestsPerMinute;

    public Integer getRequestsPerMinute() { return requestsPerMinute; }
    public void setRequestsPerMinute(Integer v) { this.requestsPerMinute = v; }
  }
}
