using Firezone.Connlib.Hosting;

namespace Firezone.Hosts.Tests.Hosting;

/// <summary>SMBIOS <c>device_serial</c>/<c>device_uuid</c> (hosts-and-tun.md §7.1), from a stand-in dmi directory.</summary>
public sealed class SmbiosDeviceInfoTests
{
    [Fact]
    public void Serial_and_uuid_are_read_trimmed()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("product_serial"), "ABC-42\n");
        File.WriteAllText(dir.File("product_uuid"), "4694e56c-7643-4a15-9df3-638e5b05f570\n");
        var info = SmbiosDeviceInfo.Read(dir.Path);
        Assert.Equal("ABC-42", info.DeviceSerial);
        Assert.Equal("4694e56c-7643-4a15-9df3-638e5b05f570", info.DeviceUuid);
    }

    [Fact]
    public void The_placeholder_serial_123456789_and_missing_files_are_left_out()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("product_serial"), "123456789\n");
        var info = SmbiosDeviceInfo.Read(dir.Path);
        Assert.Null(info.DeviceSerial);
        Assert.Null(info.DeviceUuid);
    }
}
