// pocketclip Android demo: `app` (the photo-search app) and `core` (platform-independent Kotlin, JUnit-tested on a JVM).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
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
