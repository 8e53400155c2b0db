using System.Text.Json;
using Firezone.Connlib.Hosting;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>hosts-and-tun.md §7.1 (client firezone-id.json) and §7.2 (gateway_id): creation, reuse, modes,.</summary>
public sealed class FirezoneIdFileTests
{
    [Fact]
    public void Client_id_file_is_created_with_a_lowercase_uuid_v4_and_reused()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "config", "firezone-id.json");
        string id = FirezoneIdFile.GetOrCreateClientId(null, path);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id);
        using (var json = JsonDocument.Parse(File.ReadAllText(path)))
        {
            Assert.Equal(id, json.RootElement.GetProperty("id").GetString());
            Assert.Single(json.RootElement.EnumerateObject());
        }

        Assert.Equal(id, FirezoneIdFile.GetOrCreateClientId(null, path));
        Assert.Equal(id, FirezoneIdFile.GetOrCreateClientId("", path)); // empty flag/env = unset
    }

    [Fact]
    public void Client_id_directory_gets_0770_and_file_0640_on_every_run()
    {
        using var dir = new TempDirectory();
        string directory = Path.Combine(dir.Path, "config");
        string path = Path.Combine(directory, "firezone-id.json");
        FirezoneIdFile.GetOrCreateClientId(null, path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        FirezoneIdFile.GetOrCreateClientId(null, path);
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(path));
        Assert.Equal((UnixFileMode)0b111_111_000, File.GetUnixFileMode(directory));
    }

    [Fact]
    public void An_explicit_client_id_wins_and_no_file_is_written()
    {
        using var dir = new TempDirectory();
        string path = dir.File("firezone-id.json");
        Assert.Equal("my-id", FirezoneIdFile.GetOrCreateClientId("my-id", path));
        Assert.False(File.Exists(path));
    }

    /// <summary>Upstream quirk kept: a corrupt id file is an error, not silently replaced (the device keeps its identity or fails loudly).</summary>
    [Fact]
    public void A_corrupt_client_id_file_fails_instead_of_being_regenerated_as_upstream()
    {
        using var dir = new TempDirectory();
        string path = dir.File("firezone-id.json");
        File.WriteAllText(path, "{not json");
        Assert.Throws<FirezoneIdException>(() => FirezoneIdFile.GetOrCreateClientId(null, path));
        Assert.Equal("{not json", File.ReadAllText(path));
    }

    [Fact]
    public void Gateway_id_file_is_created_without_newline_and_reused_verbatim()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "firezone", "gateway_id");
        string id = FirezoneIdFile.GetOrCreateGatewayId(null, path);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id);
        Assert.Equal(id, File.ReadAllText(path));
        Assert.Equal(id, FirezoneIdFile.GetOrCreateGatewayId(null, path));
    }

    /// <summary>Upstream quirk kept: the gateway id file's content is used verbatim (not trimmed).</summary>
    [Fact]
    public void Gateway_id_file_content_is_not_trimmed_as_upstream()
    {
        using var dir = new TempDirectory();
        string path = dir.File("gateway_id");
        File.WriteAllText(path, "4694E56C-7643-4A15-9DF3-638E5B05F570\n");
        Assert.Equal("4694E56C-7643-4A15-9DF3-638E5B05F570\n", FirezoneIdFile.GetOrCreateGatewayId(null, path));
        Assert.Equal("flag", FirezoneIdFile.GetOrCreateGatewayId("flag", path));
    }

    [Fact]
    public void Gateway_id_that_cannot_be_written_gives_upstreams_message()
    {
        using var dir = new TempDirectory();
        string blocker = dir.File("not-a-dir");
        File.WriteAllText(blocker, "");
        string path = Path.Combine(blocker, "gateway_id");
        var e = Assert.Throws<FirezoneIdException>(() => FirezoneIdFile.GetOrCreateGatewayId(null, path));
        Assert.StartsWith("Couldn't read FIREZONE_ID or write it to disk: Please provide it through the env variable or provide rw access to ", e.Message);
    }
}
