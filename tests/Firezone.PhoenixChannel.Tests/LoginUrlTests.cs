using System.Net;

namespace Firezone.PhoenixChannel.Tests;

public class LoginUrlTests
{
    [Fact]
    public void Client_url_has_every_parameter_in_order_form_encoded()
    {
        var url = LoginUrl.Client(new Uri("wss://api.firezone.dev"), "a b+/=:", "device-1", "my laptop",
            new DeviceInfo(DeviceSerial: "SN1", DeviceUuid: "U1"))
            .ToUri([new("public_key", "Jq3b+/A=")]);

        Assert.Equal("wss", url.Scheme);
        Assert.Equal(443, url.Port);
        Assert.Equal("/client/websocket", url.AbsolutePath);
        Assert.Equal(
            "?token=a+b%2B%2F%3D%3A&external_id=" + LoginUrl.ExternalId("device-1") +
            "&name=my+laptop&device_serial=SN1&device_uuid=U1&public_key=Jq3b%2B%2FA%3D", url.Query);
    }

    [Fact]
    public void External_id_is_lowercase_hex_sha256_of_the_device_id()
    {
        // printf 'device-1' | sha256sum
        Assert.Equal("03204de92e11fc8c528139be419065920eb83dbff1a4663bbea455aa6e9702bd", LoginUrl.ExternalId("device-1"));
    }

    [Fact]
    public void Relay_url_omits_name_when_not_configured_and_carries_addresses_and_port()
    {
        var url = LoginUrl.Relay(new Uri("https://portal.test/"), "t", null, IPAddress.Parse("203.0.113.9"), IPAddress.Parse("2001:db8::1"), 3478).ToUri();
        Assert.Equal("wss://portal.test/relay/websocket?token=t&ipv4=203.0.113.9&ipv6=2001%3Adb8%3A%3A1&port=3478", url.ToString());
    }

    [Theory]
    [InlineData("ws://h", "ws", 443, "/gateway/websocket")]
    [InlineData("ws://h:80", "ws", 443, "/gateway/websocket")]   // The scheme's default port counts as absent → 443.
    [InlineData("http://h:8081/foo/", "ws", 8081, "/foo/gateway/websocket")]
    [InlineData("https://h/foo?x=1", "wss", 443, "/foo/gateway/websocket")] // The API URL's query is discarded.
    public void Scheme_port_and_path_rules(string api, string scheme, int port, string path)
    {
        var login = LoginUrl.Gateway(new Uri(api), "t", "id", "gw");
        var url = login.ToUri();
        Assert.Equal((scheme, "h", port, path), (url.Scheme, url.Host, url.Port, url.AbsolutePath));
        Assert.Equal(port, login.Port);
        Assert.DoesNotContain("x=1", url.Query);
    }

    [Fact]
    public void Unsupported_scheme_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => LoginUrl.Gateway(new Uri("ftp://h"), "t", "id"));
        Assert.Contains("scheme", e.Message);
    }

    [Fact]
    public void The_token_never_appears_in_ToString()
    {
        var login = LoginUrl.Client(new Uri("wss://h"), "super-secret", "d", "n");
        Assert.DoesNotContain("super-secret", login.ToString());
        Assert.Contains("token=***", login.ToString());
        Assert.DoesNotContain("super-secret", LoginUrl.Redact(login.ToUri([new("public_key", "k")])));
    }

    [Fact]
    public void User_agents_follow_the_portal_format()
    {
        Assert.Equal("relay/0.1.0", UserAgent.ForRelay("0.1.0"));
        Assert.Matches(@"^\S+/\S+ connlib/1\.3\.8( \([^)]+\))?$", UserAgent.ForConnlib("1.3.8"));
    }
}
