// pocketclip Android demo: `app` (the photo-search app) and `core` (platform-independent Kotlin, JUnit-tested on a JVM).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

plugins {
    // core/ builds with kotlin { jvmToolchain(17) }: on a machine without a local JDK 17, Gradle downloads one through
    // this toolchain resolver (Foojay Disco API) instead of failing the sync. A settings plugin, so it lives here.
    id("org.gradle.toolchains.foojay-resolver-convention") version "1.0.0"
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "pocketclip-android"
include(":core", ":app")
