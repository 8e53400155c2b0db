using System.Runtime.InteropServices;

namespace Firezone.Connlib.Hosting;

/// <summary>Owner, group and permission bits of a file, from stat(2) (following symlinks, as upstream's fstatat).</summary>
internal readonly partial record struct UnixFileStatus(uint Uid, uint Gid, uint Mode)
{
    public static bool TryGet(string path, out UnixFileStatus status)
    {
        status = default;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[256];
        int result;
        try
        {
            result = Native.Stat(path, ref MemoryMarshal.GetReference(buffer));
        }
        catch (EntryPointNotFoundException)
        {
            // glibc before 2.33 exports only __xstat (version 1 on x86-64, 0 on aarch64).
            result = Native.XStat(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 1 : 0, path, ref MemoryMarshal.GetReference(buffer));
        }

        if (result != 0)
        {
            return false;
        }

        // struct stat: x86_64 has st_mode at 24, st_uid 28, st_gid 32; aarch64 (generic) st_mode 16, st_uid 24, st_gid 28.
        status = RuntimeInformation.ProcessArchitecture == Architecture.X64
            ? new UnixFileStatus(MemoryMarshal.Read<uint>(buffer[28..]), MemoryMarshal.Read<uint>(buffer[32..]), MemoryMarshal.Read<uint>(buffer[24..]) & 0xFFF)
            : new UnixFileStatus(MemoryMarshal.Read<uint>(buffer[24..]), MemoryMarshal.Read<uint>(buffer[28..]), MemoryMarshal.Read<uint>(buffer[16..]) & 0xFFF);
        return true;
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        public static partial int Stat(string path, ref byte buffer);

        [LibraryImport("libc", EntryPoint = "__xstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        public static partial int XStat(int version, string path, ref byte buffer);
    }
}
